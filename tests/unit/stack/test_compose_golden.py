"""Golden stacks: `input/` (a project with [services] and [pipeline]) in, `expected/` out —
compose.yaml and the resolved stack, compared in full.

The input folder is not called `project/`, so that tests/unit/test_golden.py (Dockerfiles) does
not take these cases as its own. DOCKYARD_UPDATE_GOLDEN=1 rewrites the expectations.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest

from dockyard.app.context import load_project
from dockyard.generate.airflow import airflow_artifact, airflow_target
from dockyard.generate.compose import render_compose
from dockyard.render.airflow import OPERATORS
from tests.unit.stack.helpers import context_of, fixed_key, stack_of

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.name.startswith("stack-")
               and (p / "input").is_dir())
UPDATE = os.environ.get("DOCKYARD_UPDATE_GOLDEN") == "1"


def rendered(case: str) -> dict[str, str]:
    project = fixed_key(load_project(GOLDEN / case / "input"), f"{case}-00000000")
    stack = stack_of(project)
    files = {
        "compose.yaml": render_compose(stack, context_of(project)),
        "stack.json": json.dumps(asdict(stack), indent=2, sort_keys=True) + "\n",
    }
    if stack.steps:  # the DAG files `dockyard airflow` writes, for each operator
        name = project.spec.name
        for operator in OPERATORS:
            target = airflow_target(stack, operator, name, f"/srv/{name}", 1000, 1000,
                                    project.deploy if operator == "kubernetes" else None)
            _, artifact = airflow_artifact(stack, context_of(project), name, target)
            files[f"airflow-{operator}.py"] = artifact.content
    return files


@pytest.mark.parametrize("case", CASES)
def test_compose_matches_golden(case: str) -> None:
    expected_dir = GOLDEN / case / "expected"
    actual = rendered(case)
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        expected_dir.mkdir()
        for name, text in actual.items():
            (expected_dir / name).write_text(text)
    expected = {p.name: p.read_text() for p in expected_dir.iterdir()}
    assert actual.keys() == expected.keys()
    for name in actual:
        assert actual[name] == expected[name], f"{case}/{name} differs"


@pytest.mark.parametrize("case", CASES)
def test_rendering_twice_gives_identical_bytes(case: str) -> None:
    assert rendered(case) == rendered(case)


def test_there_are_golden_stacks() -> None:
    assert {"stack-full", "stack-minimal"} <= set(CASES)
