"""Which image a deploy target names: pinned by the digest `dockyard push` recorded."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.app.context import load_project
from dockyard.app.published import PUSHED_FILE, image_reference, record_push
from tests.conftest import run_dockyard

DIGEST = "sha256:" + "ab" * 32
IMAGE_ID = "sha256:" + "cd" * 32


def project(tmp_path: Path, spec: str = "") -> Path:
    (tmp_path / "train.py").write_text("print('hi')\n")
    (tmp_path / "requirements.txt").write_text("numpy\n")
    (tmp_path / "dockyard.toml").write_text('name = "churn"\n' + spec)
    return tmp_path


def test_unpushed_image_is_named_as_built_with_what_to_do(tmp_path: Path) -> None:
    got = image_reference(load_project(project(tmp_path)), "serving")
    assert (got.ref, got.pinned) == ("localhost/dockyard/churn-serve:latest", False)
    assert got.note == ("the serving image is only on this machine: set [deploy] registry and "
                        "run `dockyard push --serving` so a cluster can pull it")


def test_registry_gives_the_name_until_a_push_pins_the_digest(tmp_path: Path) -> None:
    root = project(tmp_path, '[deploy]\nregistry = "127.0.0.1:5000/ml"\n')
    loaded = load_project(root)
    got = image_reference(loaded, "project")
    assert (got.ref, got.pinned) == ("127.0.0.1:5000/ml/churn:latest", False)
    assert "push the project image first (dockyard push)" in got.note

    record_push(loaded, "project", "127.0.0.1:5000/ml/churn:v1", DIGEST, IMAGE_ID)
    assert json.loads((root / PUSHED_FILE).read_text())["project"]["digest"] == DIGEST
    got = image_reference(loaded, "project", local_id=IMAGE_ID)
    assert (got.ref, got.pinned, got.note) == (f"127.0.0.1:5000/ml/churn@{DIGEST}", True, "")
    # the serving image is recorded apart
    assert not image_reference(loaded, "serving").pinned


def test_a_damaged_record_counts_as_no_push(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / ".dockyard").mkdir()
    (root / PUSHED_FILE).write_text("{not json")
    assert not image_reference(load_project(root), "project").pinned
    (root / PUSHED_FILE).write_text('{"project": {"ref": 1}}')
    assert not image_reference(load_project(root), "project").pinned


def test_push_without_a_reference_or_registry_says_how(tmp_path: Path) -> None:
    got = run_dockyard("-C", str(project(tmp_path)), "push")
    assert got.code == 1
    assert got.stderr.strip().splitlines() == [
        "error: push needs a reference: REGISTRY/REPO[:TAG]",
        "hint: for example `dockyard push localhost:5000/churn:1.0`, or set [deploy] registry "
        '= "registry.example.com/team" in dockyard.toml',
    ]
