"""BentoML 1.4 service for bench/serve: the same joblib model, adaptive batching on.

Started by bench/serve as ``bentoml serve serve_bentoml_service:RandomForest`` inside
bench/.venv-bentoml, with BENCH_MODEL pointing at the model file and BENCH_WORKERS giving
the number of worker processes. Requests are ``{"instances": [[...20 floats...]]}``.
"""

from __future__ import annotations

import os

import bentoml
import joblib
import numpy as np


@bentoml.service(workers=int(os.environ.get("BENCH_WORKERS", "1")), traffic={"timeout": 60})
class RandomForest:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL"])

    # Adaptive batching: BentoML merges concurrent calls into one, up to 64 rows, and tunes
    # its wait within max_latency_ms from observed latencies.
    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=1000)
    def predict(self, instances: np.ndarray) -> np.ndarray:
        return self.model.predict(instances)
