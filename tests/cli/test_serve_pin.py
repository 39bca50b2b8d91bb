"""`[serve] sha256` pins the model file: a mismatch refuses to start, before any build, with
one error line and one hint; the serving image carries the pin for the server to check."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dockyard.app.context import load_project
from dockyard.app.serving import choose_target, trust_note
from dockyard.generate import ServeRole, build_artifacts
from tests.cli.test_errors import assert_user_error

MODEL = b"\x80\x04K\x01."  # a pickle of the integer 1: never loaded here, only hashed
DIGEST = hashlib.sha256(MODEL).hexdigest()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "models" / "m.joblib").write_bytes(MODEL)
    (root / "train.py").write_text("import sklearn\n")
    return root


def pin(root: Path, digest: str) -> None:
    spec = f'[serve]\nmodel = "models/m.joblib"\nsha256 = "{digest}"\n'
    (root / "dockyard.toml").write_text(spec)


def test_mismatch_refuses_to_serve(project: Path) -> None:
    pin(project, "ab" * 32)
    # No engine is needed to refuse: the check runs before Docker is asked anything.
    assert_user_error(
        ["-C", str(project), "serve"], project,
        "model file models/m.joblib does not match [serve] sha256 in dockyard.toml "
        "(expected abababababab…, got " + DIGEST[:12] + "…)",
        f'if you replaced it on purpose, pin the new file: sha256 = "{DIGEST}"; '
        "if not, find out who changed it before serving it",
        env={"DOCKYARD_DOCKER": "/nonexistent/docker"},
    )


def test_malformed_pin_names_the_key(project: Path) -> None:
    pin(project, "not-a-digest")
    assert_user_error(
        ["-C", str(project), "inspect"], project,
        "dockyard.toml: serve.sha256: expected 64 lowercase hex digits, as sha256sum prints "
        'them, got "not-a-digest"',
        "fix dockyard.toml, or run `dockyard init --force` to write a fresh one",
    )


def test_match_is_served_and_the_image_checks_it_again(project: Path) -> None:
    pin(project, DIGEST)
    loaded = load_project(project)
    target = choose_target(loaded, None, None)
    assert target.model == "models/m.joblib"
    assert trust_note(loaded, target).endswith("pinned by [serve] sha256 (checked again when "
                                               "the server starts)")
    dockerfile = build_artifacts(loaded.spec,
                                 serve=ServeRole(target.model, ""))[0].content
    assert f"DOCKYARD_MODEL_SHA256={DIGEST}" in dockerfile


def test_unpinned_pickle_gets_the_trust_note_with_its_digest(project: Path) -> None:
    loaded = load_project(project)
    target = choose_target(loaded, "models/m.joblib", None)
    assert trust_note(loaded, target) == (
        "loading models/m.joblib runs code stored in it (pickle): serve only models you trust, "
        f'and pin this one with [serve] sha256 = "{DIGEST}" in dockyard.toml')
