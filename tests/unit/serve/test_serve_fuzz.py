"""Fuzz the API from its own OpenAPI document with schemathesis: no input may cause a 5xx.

Requests are generated from the document — valid ones, and invalid ones in negative mode —
and sent to the ASGI app in-process. Every answer must be a status the document declares,
invalid inputs must be refused with a 4xx, and nothing may be a server error.

Cases are drawn with hypothesis directly from each operation's strategy (rather than through
schemathesis' pytest plugin) so the test does not depend on pytest internals.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    negative_data_rejection,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, negative_data_rejection]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


def fuzz(app, max_examples: int) -> int:
    """Run every operation of the app's document in both modes; returns the cases sent."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        # Only /predict takes input, so only it has invalid variants to generate.
        modes = MODES if operation.path == "/predict" else MODES[:1]
        for mode in modes:
            examples = max_examples if operation.path == "/predict" else 5

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case) -> None:
                nonlocal sent
                sent += 1
                case.call_and_validate(checks=CHECKS)

            run()
    return sent


def test_no_server_errors_with_string_columns(make_app, pipeline_path):
    assert fuzz(make_app(pipeline_path), max_examples=100) > 100


def test_no_server_errors_with_numeric_rows_and_api_key(make_app, rf_path):
    assert fuzz(make_app(rf_path, api_key="k"), max_examples=60) > 60
