"""A requirement's name is parsed in one place (spec.checks.requirement_name)."""

from __future__ import annotations

import pytest

from dockyard.spec.checks import requirement_name


@pytest.mark.parametrize("line", ["pyspark==3.5.1", "pyspark~=3.5.1", "PySpark[sql]>=3",
                                  "pyspark ; python_version > '3'", "pyspark"])
def test_every_operator_gives_the_same_name(line: str) -> None:
    assert requirement_name(line) == "pyspark"


def test_an_unparsable_line_is_its_own_name() -> None:
    assert requirement_name("-e .") == "-e ."
