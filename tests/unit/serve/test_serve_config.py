"""Settings from DOCKYARD_* variables, the shared metrics and the schema checks."""

from __future__ import annotations

import math
import os

import pytest
from dockyard_serve.config import ConfigError, load_settings
from dockyard_serve.metrics import Metrics, SharedRegion
from dockyard_serve.schema import Feature, InvalidInput, Schema


def test_defaults():
    s = load_settings({"DOCKYARD_MODEL": "/m/model.joblib"})
    assert (s.host, s.port, s.max_batch, s.max_wait_ms) == ("0.0.0.0", 8080, 64, 10.0)
    assert s.workers == s.cpus >= 1
    assert s.api_key is None and s.image_id is None


def test_predictor_defaults_to_one_worker():
    s = load_settings({"DOCKYARD_PREDICTOR": "app.model:Predictor"})
    assert s.workers == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "set DOCKYARD_MODEL"),
        ({"DOCKYARD_PREDICTOR": "nocolon"}, "module:Class"),
        ({"DOCKYARD_MODEL": "m", "DOCKYARD_PORT": "http"}, "DOCKYARD_PORT must be an integer"),
        ({"DOCKYARD_MODEL": "m", "DOCKYARD_WORKERS": "0"}, "DOCKYARD_WORKERS must be >= 1"),
        (
            {"DOCKYARD_MODEL": "m", "DOCKYARD_TIMEOUT_S": "inf"},
            "DOCKYARD_TIMEOUT_S must be a finite",
        ),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_cpu_budget_respects_affinity():
    s = load_settings({"DOCKYARD_MODEL": "m"})
    assert s.cpus <= len(os.sched_getaffinity(0))
    assert load_settings({"DOCKYARD_MODEL": "m", "DOCKYARD_WORKERS": "4"}).threads_per_worker >= 1


def test_metrics_sum_over_worker_slots():
    region = SharedRegion(2)
    first, second = Metrics(region, 0), Metrics(region, 1)
    first.count_request("/predict", 200, 0.003)
    second.count_request("/predict", 200, 0.2)
    second.count_request("/predict", 422, 0.001)
    first.observe_batch(rows=12, requests=3, seconds=0.01)
    text = first.render()
    assert 'dockyard_requests_total{route="/predict",code="200"} 2' in text
    assert 'dockyard_requests_total{route="/predict",code="422"} 1' in text
    assert 'dockyard_request_duration_seconds_bucket{le="0.005"} 2' in text
    assert 'dockyard_request_duration_seconds_bucket{le="+Inf"} 3' in text
    assert 'dockyard_batch_size_bucket{le="16.0"} 1' in text
    assert "dockyard_predicted_rows_total 12" in text
    assert not first.all_ready()
    first.set_ready()
    second.set_ready()
    assert first.all_ready()


def test_schema_checks_and_converts():
    schema = Schema(
        (
            Feature("n", "number", nullable=True),
            Feature("i", "integer"),
            Feature("s", "string", enum=("a", "b")),
            Feature("b", "boolean", required=False, default=False),
        )
    )
    rows = schema.validate_rows([[None, 3.0, "a"], [1, 2, "b", True]])
    assert math.isnan(rows[0][0]) and rows[0][1:] == [3, "a", False]
    assert rows[1] == [1, 2, "b", True]
    with pytest.raises(InvalidInput) as info:
        schema.validate_records([{"n": 1.0, "i": 2.5, "s": "c", "b": 1}])
    messages = {(e.field, e.message) for e in info.value.errors}
    assert messages == {
        ("i", "expected integer, got number"),
        ("s", "unknown category 'c'; expected one of 'a', 'b'"),
        ("b", "expected boolean, got integer"),
    }
    with pytest.raises(InvalidInput, match="integer out of range"):
        schema.validate_rows([[0.0, 2**64, "a"]])
