"""User predictor classes: schema from type hints, per-row and batched calls."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.anyio

PER_ROW = """
from typing import Optional


class Sentiment:
    def setup(self) -> None:
        self.words = {"good": 1.0, "bad": -1.0}
        self.calls = 0

    def predict(self, text: str, weight: float = 1.0, lang: Optional[str] = None) -> float:
        self.calls += 1
        return weight * sum(self.words.get(w, 0.0) for w in text.split())
"""

BATCHED = """
import numpy as np


class Scaler:
    batched = True

    def setup(self, model_path):
        self.model_path = model_path
        self.batch_sizes = []

    def predict(self, x: list[float], n: list[int]) -> list[float]:
        self.batch_sizes.append(len(x))
        return np.asarray(x) * np.asarray(n)

    def predict_proba(self, x: list[float], n: list[int]) -> list[list[float]]:
        return [[0.25, 0.75] for _ in x]
"""


async def test_per_row_predictor_schema_and_answers(make_app, client_for, predictor_module):
    module = predictor_module("sentiment_predictor", PER_ROW)
    app = make_app(predictor=f"{module}:Sentiment")
    client = client_for(app)
    instance = (await client.get("/openapi.json")).json()["components"]["schemas"]["Instance"]
    assert instance["properties"]["text"] == {"type": "string"}
    assert instance["properties"]["weight"] == {"type": "number", "default": 1.0}
    assert instance["properties"]["lang"] == {"type": "string", "nullable": True, "default": None}
    assert instance["required"] == ["text"]

    response = await client.post(
        "/predict",
        json={"instances": [{"text": "good good bad"}, {"text": "bad", "weight": 2, "lang": None}]},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [1.0, -2.0]}
    response = await client.post("/predict", json={"inputs": [["good", 3.0]]})
    assert response.json() == {"predictions": [3.0]}

    response = await client.post("/predict", json={"instances": [{"text": 5}]})
    assert response.status_code == 422
    assert response.json()["details"] == [
        {"row": 0, "field": "text", "message": "expected string, got integer"}
    ]
    info = (await client.get("/info")).json()["model"]
    assert info["kind"] == "predictor"
    assert info["probabilities"] is False


async def test_batched_predictor_gets_whole_batches(make_app, client_for, predictor_module):
    module = predictor_module("scaler_predictor", BATCHED)
    app = make_app("/models/weights.bin", predictor=f"{module}:Scaler")
    client = client_for(app)
    responses = await asyncio.gather(
        *[client.post("/predict", json={"instances": [{"x": float(i), "n": 2}]}) for i in range(40)]
    )
    assert [r.json()["predictions"] for r in responses] == [[2.0 * i] for i in range(40)]
    instance = app.model._instance  # the user's object, to see how it was called
    assert instance.model_path == "/models/weights.bin"
    assert sum(instance.batch_sizes) == 40
    assert len(instance.batch_sizes) < 40  # requests were merged into batches

    response = await client.post("/predict?proba=1", json={"inputs": [[1.0, 1]]})
    assert response.json() == {"predictions": [1.0], "probabilities": [[0.25, 0.75]]}
    response = await client.post("/predict", json={"inputs": [[1.0, 1.5]]})
    assert response.status_code == 422  # n is an int


async def test_predictor_exception_is_an_answer(make_app, client_for, predictor_module):
    module = predictor_module(
        "broken_predictor",
        "class Broken:\n"
        "    def predict(self, x: float) -> float:\n"
        "        if x < 0:\n"
        "            raise ValueError('x must be positive')\n"
        "        if x > 100:\n"
        "            raise RuntimeError('weights are corrupt')\n"
        "        return x\n",
    )
    client = client_for(make_app(predictor=f"{module}:Broken"))
    responses = await asyncio.gather(
        client.post("/predict", json={"inputs": [[1.0]]}),
        client.post("/predict", json={"inputs": [[-1.0]]}),
        client.post("/predict", json={"inputs": [[1000.0]]}),
        client.post("/predict", json={"inputs": [[2.0]]}),
    )
    assert [r.status_code for r in responses] == [200, 422, 500, 200]
    assert "x must be positive" in responses[1].text
    assert responses[2].json() == {"error": "prediction failed"}
