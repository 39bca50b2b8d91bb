"""Golden Kubernetes layouts: `input/` in, the whole `dockyard k8s` layout out (every file of
`k8s/base` and both overlays), compared in full. DOCKYARD_UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.unit.k8s.helpers import CASES, GOLDEN, layout_files

UPDATE = os.environ.get("DOCKYARD_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("case", CASES)
def test_layout_matches_golden(case: str) -> None:
    expected_dir = GOLDEN / case / "expected"
    actual = layout_files(case)
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, text in actual.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_text(text)
    expected = {p.relative_to(expected_dir).as_posix(): p.read_text()
                for p in sorted(expected_dir.rglob("*")) if p.is_file()}
    assert sorted(actual) == sorted(expected)
    for rel in actual:
        assert actual[rel] == expected[rel], f"{case}/{rel} differs"


@pytest.mark.parametrize("case", CASES)
def test_rendering_twice_gives_identical_bytes(case: str) -> None:
    assert layout_files(case) == layout_files(case)


def test_there_are_golden_layouts() -> None:
    assert {"k8s-churn", "k8s-gpu"} <= set(CASES)
