"""Every bad request gets its status, never a crash: 400 401 404 405 413 415 422 503 504."""

from __future__ import annotations

import asyncio

import pytest
from dockyard_serve.app import App

pytestmark = pytest.mark.anyio

SLOW = """
import time


class Slow:
    batched = True

    def predict(self, x: list[float]) -> list[float]:
        time.sleep(float(x[0]) if x[0] < 10 else 0.0)
        return x
"""


@pytest.fixture
def rf_client(make_app, client_for, rf_path):
    return client_for(make_app(rf_path))


ROW = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{not json", "application/json"), (b"", "application/json"), (b"\xff\xfe", "text/csv")],
)
async def test_malformed_body_is_400(rf_client, body, content_type):
    response = await rf_client.post(
        "/predict", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith(("malformed", "CSV body"))


@pytest.mark.parametrize(
    ("payload", "row", "field", "message"),
    [
        ({"inputs": [ROW[:5]]}, 0, None, "expected 6 values, got 5"),
        ({"inputs": [ROW, [*ROW[:3], "x", *ROW[4:]]]}, 1, "f3", "expected number, got string"),
        ({"inputs": [[*ROW[:2], True, *ROW[3:]]]}, 0, "f2", "expected number, got boolean"),
        (
            {"instances": [dict(zip([f"f{i}" for i in range(6)], ROW, strict=False)) | {"zz": 1}]},
            0,
            "zz",
            "unknown feature",
        ),
        ({"instances": [{f"f{i}": 1.0 for i in range(5)}]}, 0, "f5", "missing feature"),
        ({"instances": [[1.0] * 6]}, 0, None, "each instance must be a JSON object"),
        ({"inputs": []}, None, "inputs", "expected a non-empty array"),
        ({"rows": [ROW]}, None, "rows", "unknown key 'rows'"),
        ([ROW], None, None, 'expected an object with "instances" or "inputs"'),
    ],
)
async def test_schema_violations_are_422_naming_row_and_field(
    rf_client, payload, row, field, message
):
    response = await rf_client.post("/predict", json=payload)
    assert response.status_code == 422
    assert {"row": row, "field": field, "message": message} in response.json()["details"]


async def test_non_finite_numbers_are_422(rf_client):
    response = await rf_client.post(
        "/predict",
        content=b'{"inputs": [[1e999, 0, 0, 0, 0, 0]]}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (400, 422)  # orjson refuses 1e999; either way, not a 500


async def test_body_over_limit_is_413(make_app, client_for, rf_path):
    client = client_for(make_app(rf_path, max_body_bytes=100))
    response = await client.post("/predict", json={"inputs": [ROW] * 10})
    assert response.status_code == 413

    async def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(10):
            yield b"[0.1, 0.2, 0.3, 0.4, 0.5, 0.6],"

    response = await client.post("/predict", content=chunks())
    assert response.status_code == 413


async def test_other_client_errors(rf_client):
    assert (await rf_client.get("/nope")).status_code == 404
    wrong_method = await rf_client.get("/predict")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert (await rf_client.post("/health")).status_code == 405
    xml = await rf_client.post("/predict", content=b"<x/>", headers={"content-type": "text/xml"})
    assert xml.status_code == 415
    bad_flag = await rf_client.post("/predict?proba=maybe", json={"inputs": [ROW]})
    assert bad_flag.status_code == 400


async def test_api_key(make_app, client_for, rf_path):
    client = client_for(make_app(rf_path, api_key="s3cret"))
    body = {"inputs": [ROW]}
    assert (await client.post("/predict", json=body)).status_code == 401
    assert (
        await client.post("/predict", json=body, headers={"x-api-key": "wrong"})
    ).status_code == 401
    assert (
        await client.post("/predict", json=body, headers={"x-api-key": "s3cret"})
    ).status_code == 200
    bearer = {"authorization": "Bearer s3cret"}
    assert (await client.post("/predict", json=body, headers=bearer)).status_code == 200
    assert (await client.get("/info")).status_code == 401
    assert (await client.get("/metrics")).status_code == 401
    # Probes and docs stay open: orchestrators and browsers do not carry the key.
    for path in ("/health", "/ready", "/openapi.json", "/docs"):
        assert (await client.get(path)).status_code == 200
    doc = (await client.get("/openapi.json")).json()
    assert "apiKey" in doc["components"]["securitySchemes"]


async def test_not_loaded_yet_is_503_with_retry_after(client_for, settings_for, rf_path):
    app = App(settings_for(rf_path))  # model not loaded
    client = client_for(app)
    assert (await client.get("/health")).status_code == 200
    ready = await client.get("/ready")
    assert ready.status_code == 503
    response = await client.post("/predict", json={"inputs": [ROW]})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


async def test_full_queue_is_503_with_retry_after(make_app, client_for, predictor_module):
    module = predictor_module("slow_queue", SLOW)
    app = make_app(predictor=f"{module}:Slow", queue_limit=2, max_batch=1)
    client = client_for(app)
    responses = await asyncio.gather(
        *[client.post("/predict", json={"inputs": [[0.2]]}) for _ in range(8)]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) >= 2 and codes.count(503) >= 1  # 2 queued, the rest refused
    assert set(codes) == {200, 503}
    for response in responses:
        if response.status_code == 503:
            assert int(response.headers["retry-after"]) >= 1


async def test_deadline_is_504_and_a_stuck_model_is_not_ready(
    make_app, client_for, predictor_module
):
    module = predictor_module("slow_deadline", SLOW)
    client = client_for(make_app(predictor=f"{module}:Slow", timeout_s=0.2))
    response = await client.post("/predict", json={"inputs": [[1.0]]})
    assert response.status_code == 504
    assert response.json()["error"] == "no prediction within 0.2s"
    # The predict call is still running, past every deadline: readiness says so.
    assert (await client.get("/ready")).status_code == 503
    assert (await client.get("/health")).status_code == 200


async def test_metrics_count_statuses(rf_client):
    await rf_client.post("/predict", json={"inputs": [ROW]})
    await rf_client.post("/predict", content=b"{")
    text = (await rf_client.get("/metrics")).text
    assert 'dockyard_requests_total{route="/predict",code="200"} 1' in text
    assert 'dockyard_requests_total{route="/predict",code="400"} 1' in text
    assert "dockyard_request_duration_seconds_count 2" in text
    assert "dockyard_queue_depth 0" in text
    assert 'dockyard_batch_size_bucket{le="1.0"} 1' in text
