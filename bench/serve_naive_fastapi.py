"""The naive baseline for bench/serve: FastAPI calling ``predict`` once per request.

What a first attempt usually looks like: a pydantic body, a sync endpoint (FastAPI runs it in
its thread pool), one predict call per request, no batching. Started as
``uvicorn serve_naive_fastapi:app`` with BENCH_MODEL pointing at the model file.
"""

from __future__ import annotations

import os

import joblib
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()
model = joblib.load(os.environ["BENCH_MODEL"])


class PredictRequest(BaseModel):
    inputs: list[list[float]]


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
def predict(request: PredictRequest) -> dict[str, list[int]]:
    return {"predictions": model.predict(np.array(request.inputs)).tolist()}
