"""Lock files: exact pins from index packages only, first lock file wins."""

from __future__ import annotations

import json

import pytest

from dockyard.detect._locks import detect_locks
from dockyard.errors import UserError
from tests.unit.detect.conftest import MakeProject

UV_LOCK = """\
version = 1
[[package]]
name = "NumPy"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "torch"
version = "2.3.0+cu121"
source = { registry = "https://download.pytorch.org/whl/cu121" }
[[package]]
name = "myproject"
version = "0.1.0"
source = { editable = "." }
[[package]]
name = "forked"
version = "0.3.0"
source = { git = "https://github.com/a/forked?rev=abc#abc" }
[[package]]
name = "scipy"
version = "1.11.4"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "scipy"
version = "1.13.1"
source = { registry = "https://pypi.org/simple" }
"""

POETRY_LOCK = """\
[[package]]
name = "pandas"
version = "2.2.2"
[[package]]
name = "private"
version = "1.0"
[package.source]
type = "legacy"
url = "https://private.example/simple"
[[package]]
name = "local"
version = "0.1"
[package.source]
type = "directory"
url = "../local"
"""


def test_uv_lock(make_project: MakeProject) -> None:
    fragment = detect_locks(make_project({"uv.lock": UV_LOCK}))
    assert fragment.pins == (("numpy", "1.26.4", "uv.lock"), ("torch", "2.3.0+cu121", "uv.lock"))
    assert "scipy locked at several versions" in fragment.findings[0].message


def test_poetry_lock_keeps_private_indexes_and_drops_directories(
    make_project: MakeProject,
) -> None:
    fragment = detect_locks(make_project({"poetry.lock": POETRY_LOCK}))
    assert fragment.pins == (("pandas", "2.2.2", "poetry.lock"), ("private", "1.0", "poetry.lock"))


def test_pipfile_lock(make_project: MakeProject) -> None:
    lock = {
        "_meta": {},
        "default": {"numpy": {"version": "==1.26.4"}, "git-dep": {"git": "https://x"}},
        "develop": {"pytest": {"version": "==8.2.0"}},
    }
    fragment = detect_locks(make_project({"Pipfile.lock": json.dumps(lock)}))
    assert fragment.pins == (
        ("numpy", "1.26.4", "Pipfile.lock"),
        ("pytest", "8.2.0", "Pipfile.lock"),
    )


def test_pdm_lock(make_project: MakeProject) -> None:
    lock = (
        '[[package]]\nname = "rich"\nversion = "13.7.1"\n'
        '[[package]]\nname = "mine"\nversion = "0.1"\neditable = true\n'
    )
    fragment = detect_locks(make_project({"pdm.lock": lock}))
    assert fragment.pins == (("rich", "13.7.1", "pdm.lock"),)


def test_all_lock_files_are_read_in_order(make_project: MakeProject) -> None:
    view = make_project({"uv.lock": UV_LOCK, "poetry.lock": POETRY_LOCK})
    sources = [source for _, _, source in detect_locks(view).pins]
    assert sources == ["uv.lock", "uv.lock", "poetry.lock", "poetry.lock"]


def test_broken_lock_file_is_a_user_error_with_a_relock_hint(make_project: MakeProject) -> None:
    view = make_project({"poetry.lock": "<<<<<<< HEAD\n[[package]]\n"})
    with pytest.raises(UserError) as caught:
        detect_locks(view)
    assert caught.value.message.startswith("poetry.lock: invalid TOML")
    assert "poetry lock" in caught.value.hint
