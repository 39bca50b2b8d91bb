"""Golden projects: a folder in, whole generated files out, compared in full.

Set DOCKYARD_UPDATE_GOLDEN=1 to rewrite the expectations; the diff is then the review.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dockyard.app.context import load_project
from dockyard.generate import build_artifacts

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "project").is_dir())
UPDATE = os.environ.get("DOCKYARD_UPDATE_GOLDEN") == "1"
REPO = GOLDEN.parents[1]


def rendered(case: str) -> dict[str, str]:
    project = load_project(GOLDEN / case / "project")
    files = {a.path: a.content for a in build_artifacts(project.spec)
             if not a.path.startswith(".dockyard/runtime/")}
    detection = project.detection.to_json()
    detection["spec_requirements"] = list(project.spec.requirements)
    detection["spec_provenance"] = project.spec.provenance
    files["detection.json"] = json.dumps(detection, indent=2, sort_keys=True) + "\n"
    return {name.replace("/", "__"): text for name, text in files.items()}


@pytest.mark.parametrize("case", CASES)
def test_generated_files_match_golden(case: str) -> None:
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


@pytest.mark.parametrize("case", CASES)
def test_generated_dockerfile_passes_hadolint(case: str, tmp_path: Path) -> None:
    hadolint = shutil.which("hadolint") or str(Path(os.sys.executable).parent / "hadolint")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(rendered(case)["Dockerfile"])
    proc = subprocess.run([hadolint, "--config", str(REPO / ".hadolint.yaml"), str(dockerfile)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
