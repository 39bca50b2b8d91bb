"""Issue 8, item 9: one bad row must not degrade every batch.

The poison is real: a value that passes the schema (a finite float64) but that a random
forest refuses (it computes in float32, where 1e308 is infinite). It used to fail the merged
call and then every request of the batch was predicted again on its own: two clients
sending such rows cut good throughput tenfold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import joblib
import pytest
from dockyard_serve.batching import Batcher, ModelError
from dockyard_serve.models import Prediction, model_for_object
from loadgen import Tally, post, run_clients
from test_serve_process import Server

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning"),
]

GOOD = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
POISON = [1e308, 0.2, 0.3, 0.4, 0.5, 0.6]


class Counting:
    """The real model, counting its predict calls."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.schema, self.info = model.schema, model.info
        self.supports_proba, self.vectorized = model.supports_proba, model.vectorized
        self.calls = 0

    def predict(self, rows: Sequence[list[Any]], proba: bool) -> Prediction:
        self.calls += 1
        return self._model.predict(rows, proba)


async def _one_batch(batcher: Batcher, poison_at: int, poison: list[float] = POISON) -> list[Any]:
    # All 64 are queued before the collector first runs: they form one batch.
    return await asyncio.gather(
        *[
            batcher.predict([poison if i == poison_at else GOOD], False, ("127.0.0.1", i))
            for i in range(64)
        ],
        return_exceptions=True,
    )


async def test_poison_row_in_a_64_row_batch_fails_only_its_request(rf_path):
    model = Counting(model_for_object(joblib.load(rf_path)))
    batcher = Batcher(model, max_batch=64, max_wait_s=0.01, queue_limit=512, timeout_s=30)
    try:
        results = await _one_batch(batcher, poison_at=17)
        failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
        assert failed == [17]
        assert isinstance(results[17], ModelError)
        assert "float32" in str(results[17])  # the model's own words reach the 422
        assert all(len(r.predictions) == 1 for r in results if isinstance(r, Prediction))
        # Bisection: the failed call plus two per level, not 1 + 64 single calls.
        assert model.calls <= 1 + 2 * 6
        model.calls = 0
        # The same sender again, other bad rows: its request goes alone, the rest together.
        results = await _one_batch(batcher, poison_at=17, poison=[1e300, *GOOD[1:]])
        assert [i for i, r in enumerate(results) if isinstance(r, BaseException)] == [17]
        assert model.calls == 2
        model.calls = 0
        # And the very same rows again: the same 422, without asking the model.
        results = await _one_batch(batcher, poison_at=17, poison=[1e300, *GOOD[1:]])
        assert [i for i, r in enumerate(results) if isinstance(r, BaseException)] == [17]
        assert model.calls == 1
    finally:
        batcher.close()


def test_poison_clients_do_not_collapse_good_throughput(tmp_path, rf_path):
    """32 good clients alone, then with 2 clients sending poison rows, in alternating short
    rounds; every answer is the right one. The best round of each is compared: other load
    on a shared machine only ever slows a round down."""
    server = Server({"DOCKYARD_MODEL": str(rf_path), "DOCKYARD_WORKERS": "1"}, tmp_path)
    try:
        server.wait_ready()
        port = int(server.url.rsplit(":", 1)[1])
        good, poison = post("/predict", {"inputs": [GOOD]}), post("/predict", {"inputs": [POISON]})
        clean_rates, poisoned_rates = [], []
        for _ in range(7):
            for rates, bad_clients in ((clean_rates, 0), (poisoned_rates, 2)):
                good_tally, bad_tally = Tally(), Tally()
                groups = [(32, good, good_tally), (bad_clients, poison, bad_tally)]
                asyncio.run(run_clients(port, groups, seconds=1.0))
                assert set(good_tally.statuses) == {200}, good_tally.statuses
                assert set(bad_tally.statuses) <= {422}, bad_tally.statuses
                rates.append(good_tally.statuses[200] / 1.0)
        clean, poisoned = max(clean_rates), max(poisoned_rates)
        print(f"good req/s: clean {clean:.0f}, with 2 poison clients {poisoned:.0f}")
        # The server that retried a failing batch row by row fell to 11% of clean here; a
        # bisecting one keeps 85-100% when the machine is quiet. Half is the bar: a timed test
        # on a shared 2-core machine must not fail on another job's load (bench/ measures).
        assert poisoned >= 0.5 * clean, (clean_rates, poisoned_rates)
    finally:
        server.stop()
