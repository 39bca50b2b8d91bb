"""A value a spec pattern rejects is explained in words, never as the regex."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.errors import SpecError
from dockyard.spec.load import parse_spec
from dockyard.spec.model import UserSpec
from dockyard.spec.patterns import WORDS


def _patterns(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = {schema["pattern"]} if isinstance(schema.get("pattern"), str) else set()
        return found.union(*(_patterns(v) for v in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_patterns(v) for v in schema))
    return set()


def test_every_pattern_of_the_spec_has_words() -> None:
    patterns = _patterns(UserSpec.model_json_schema(mode="validation"))
    assert len(patterns) >= 10  # the walk found them: one per kind of name the spec checks
    assert patterns - WORDS.keys() == set()


@pytest.mark.parametrize(("table", "problem"), [
    ({"python": "3"}, 'python: expected a Python version such as "3.11", got "3"'),
    ({"gpu": {"cuda": "twelve"}}, 'gpu.cuda: expected a CUDA version such as "12.4", got "twelve"'),
    ({"deploy": {"gpu": {"tolerations": [{"key": "bad key!"}]}}},
     'deploy.gpu.tolerations.0.key: expected a Kubernetes label key such as "nvidia.com/gpu" '
     "(an optional DNS prefix and '/', then letters, digits, '-', '_' and '.'), got \"bad key!\""),
    ({"services": {"postgres": {"version": "-15"}}},
     'services.postgres.version: expected an image tag such as "15" or "7.2-alpine" (letters, '
     "digits, '.', '_' and '-'), got \"-15\""),
])
def test_a_rejected_value_is_explained(table: dict[str, Any], problem: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(table, "dockyard.toml")
    assert err.value.problems == (problem,)
