"""Stale lock files: each tool's own freshness test, recomputed; the lock is still installed."""

from __future__ import annotations

import json

from dockyard.detect import detect
from dockyard.detect._common import parse_toml
from dockyard.detect._stale import pipfile_hashes, poetry_content_hash
from tests.unit.detect.conftest import MakeProject

PIPFILE = """\
[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
requests = "*"
pandas = {version = ">=2.1", extras = ["excel"]}

[dev-packages]
pytest = "==8.2.0"

[requires]
python_version = "3.11"
"""
# What pipenv 2026.10.3 (plette's Pipfile.get_hash) computes for PIPFILE.
PIPENV_HASH = "b05f47c7c4f7ba537d1a09144e6ffe2ad7ba2fd8bae78010d6128fbff4e26581"


def pipfile_lock(hash_: str) -> str:
    return json.dumps(
        {
            "_meta": {"hash": {"sha256": hash_}},
            "default": {"requests": {"version": "==2.31.0"}, "pandas": {"version": "==2.2.2"}},
            "develop": {},
        }
    )


def test_pipfile_hash_is_pipenvs() -> None:
    assert PIPENV_HASH in pipfile_hashes(parse_toml(PIPFILE, "Pipfile", ""))


def test_fresh_pipfile_lock_installs_as_locked_without_warning(make_project: MakeProject) -> None:
    det = detect(make_project({"Pipfile": PIPFILE, "Pipfile.lock": pipfile_lock(PIPENV_HASH)}))
    assert [(d.name, d.specifier, d.source) for d in det.dependencies] == [
        ("pandas", "==2.2.2", "Pipfile.lock"),
        ("requests", "==2.31.0", "Pipfile.lock"),
    ]
    assert [f for f in det.findings if f.severity == "warning"] == []


def test_stale_pipfile_lock_is_still_installed_and_named(make_project: MakeProject) -> None:
    stale = PIPFILE.replace('requests = "*"', 'requests = "*"\nrich = "*"')
    det = detect(make_project({"Pipfile": stale, "Pipfile.lock": pipfile_lock(PIPENV_HASH)}))
    assert "rich" not in {d.name for d in det.dependencies}  # pipenv installs the lock alone
    warning = next(f for f in det.findings if f.severity == "warning")
    assert warning.message == (
        "Pipfile.lock is stale: Pipfile changed since it was locked; installing Pipfile.lock "
        "as locked"
    )
    assert "pipenv lock" in warning.hint


POETRY_PYPROJECT = """\
[tool.poetry]
name = "x"
version = "0.1.0"

[tool.poetry.dependencies]
python = "^3.10"
pandas = "^2.1"
"""


def poetry_lock(content_hash: str) -> str:
    return (
        '[[package]]\nname = "pandas"\nversion = "2.2.2"\n'
        f'[metadata]\nlock-version = "2.0"\ncontent-hash = "{content_hash}"\n'
    )


def test_poetry_content_hash_follows_the_manifest(make_project: MakeProject) -> None:
    fresh = poetry_content_hash(parse_toml(POETRY_PYPROJECT, "pyproject.toml", ""))
    det = detect(make_project({"pyproject.toml": POETRY_PYPROJECT,
                               "poetry.lock": poetry_lock(fresh)}))
    assert [f.severity for f in det.findings if f.severity == "warning"] == []
    changed = POETRY_PYPROJECT + 'rich = "*"\n'
    det = detect(make_project({"pyproject.toml": changed}))
    assert [d.specifier for d in det.dependencies] == ["==2.2.2"]
    assert any(f.message.startswith("poetry.lock is stale") for f in det.findings)


def test_poetry_hash_of_a_pep_621_project_covers_project_keys() -> None:
    legacy = poetry_content_hash({"tool": {"poetry": {"dependencies": {"a": "*"}}}})
    pep621 = poetry_content_hash({"project": {"dependencies": ["a"]}, "tool": {"poetry": {}}})
    assert legacy != pep621
    assert pep621 != poetry_content_hash({"project": {"dependencies": ["a", "b"]}})


UV_LOCK = """\
[[package]]
name = "x"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "rich" }]

[package.metadata]
requires-dist = [{ name = "rich", specifier = ">=13" }]

[[package]]
name = "rich"
version = "13.7.1"
source = { registry = "https://pypi.org/simple" }
"""


def test_uv_lock_is_stale_when_requires_dist_differs(make_project: MakeProject) -> None:
    pyproject = '[project]\nname = "x"\ndependencies = ["rich>=13"]\n'
    det = detect(make_project({"pyproject.toml": pyproject, "uv.lock": UV_LOCK}))
    assert [(d.name, d.specifier) for d in det.dependencies] == [("rich", "==13.7.1")]
    assert not any("stale" in f.message for f in det.findings)
    det = detect(make_project({"pyproject.toml": pyproject.replace('"]', '", "numpy"]')}))
    assert any(f.message.startswith("uv.lock is stale") for f in det.findings)
    assert "numpy" not in {d.name for d in det.dependencies}
