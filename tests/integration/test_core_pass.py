"""Folders people really have, on the real engine, with no `dockyard build` typed first:

- a src-layout package with a console script, extras and a guarded optional import runs its
  script; an edit is seen without a rebuild; a new dependency rebuilds before the run;
- a typo in requirements.txt fails in seconds, in a few lines, naming the package and the line;
  a conflict names both sides;
- two builds, the second without cache, install the same pinned set;
- a stale Pipfile.lock is installed as locked, and `inspect` says it is stale.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_dockyard
from tests.integration.conftest import _cleanup_label, docker

PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "forecast"
version = "0.3.0"
requires-python = ">=3.10"
dependencies = [{deps}]

[project.optional-dependencies]
plot = ["tabulate>=0.9"]

[project.scripts]
forecast = "forecast.cli:main"
"""
CLI = """\
import sys

import six

try:  # optional speed-up that no index has: reported, never installed
    import forecast_turbo_xyz  # noqa: F401
except ImportError:
    forecast_turbo_xyz = None


def main() -> None:
    rows = open(sys.argv[1]).read().splitlines()
    print(f"forecast {len(rows)} rows {VERSION}")


VERSION = "v1"
"""


def _image(root: Path) -> str:
    return f"localhost/dockyard/{root.name}:latest"


@pytest.fixture(scope="module")
def package(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("pkg") / f"forecast-{os.getpid()}"
    (root / "src" / "forecast").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT.format(deps='"six>=1.16"'))
    (root / "src" / "forecast" / "__init__.py").write_text(
        "from importlib.metadata import version\n__version__ = version('forecast')\n")
    (root / "src" / "forecast" / "cli.py").write_text(CLI)
    (root / "data" / "x.csv").write_text("a\nb\nc\n")
    yield root
    _cleanup_label(root)
    docker("rmi", _image(root), check=False)


def test_console_script_runs_with_no_prior_build(package: Path) -> None:
    ran = run_dockyard("-C", str(package), "run", "--", "forecast", "data/x.csv", timeout=900)
    assert ran.code == 0, ran.stderr
    assert ran.stdout.strip() == "forecast 3 rows v1"
    assert "image rebuilt" in ran.stderr
    meta = run_dockyard("-C", str(package), "run", "--no-build", "--", "python", "-c",
                        "import forecast; print(forecast.__version__, forecast.__file__)")
    assert meta.stdout.strip() == "0.3.0 /workspace/src/forecast/__init__.py"


def test_inspect_reports_the_package_and_the_optional_import(package: Path) -> None:
    doc = json.loads(run_dockyard("-C", str(package), "inspect", "--json").stdout)
    assert doc["spec"]["install_project"] == "pyproject.toml"
    assert [o["module"] for o in doc["optional_imports"]] == ["forecast_turbo_xyz"]
    assert "forecast_turbo_xyz" not in " ".join(doc["spec"]["requirements"])


def test_an_edit_is_seen_without_a_rebuild(package: Path) -> None:
    cli = package / "src" / "forecast" / "cli.py"
    cli.write_text(cli.read_text().replace('"v1"', '"v2"'))
    ran = run_dockyard("-C", str(package), "run", "--no-build", "--", "forecast", "data/x.csv")
    assert ran.stdout.strip() == "forecast 3 rows v2"
    again = run_dockyard("-C", str(package), "run", "--", "true")
    assert again.code == 0, again.stderr
    assert "image rebuilt" in again.stderr  # the code changed: the image follows, in seconds
    baked = docker("run", "--rm", _image(package), "cat", "/workspace/src/forecast/cli.py")
    assert '"v2"' in baked.stdout


def test_a_new_dependency_rebuilds_before_the_run(package: Path) -> None:
    (package / "pyproject.toml").write_text(
        PYPROJECT.format(deps='"six>=1.16", "python-dateutil>=2.9"'))
    ran = run_dockyard("-C", str(package), "run", "--", "python", "-c",
                       "import dateutil; print('dateutil', dateutil.__version__)", timeout=900)
    assert ran.code == 0, ran.stderr
    assert ran.stdout.startswith("dateutil ")
    assert "image rebuilt" in ran.stderr
    unchanged = run_dockyard("-C", str(package), "run", "--", "true")
    assert "image up to date" in unchanged.stderr


def _requirements_project(root: Path, text: str) -> Path:
    root.mkdir()
    (root / "requirements.txt").write_text(text)
    (root / "main.py").write_text("import pandas\n")
    return root


def test_a_typo_fails_in_seconds_naming_the_package_and_line(engine: None,
                                                              tmp_path: Path) -> None:
    root = _requirements_project(tmp_path / "typo", "pandas==2.2.3\nscikit-lern-typo==1.0\n")
    started = time.monotonic()
    ran = run_dockyard("-C", str(root), "build")
    seconds = time.monotonic() - started
    assert ran.code == 1
    assert seconds < 15, seconds
    lines = ran.stderr.strip().splitlines()
    assert len(lines) <= 10, lines
    assert lines[-3] == ("error: cannot resolve dependencies: Because scikit-lern-typo was not "
                         "found in the package registry and you require scikit-lern-typo==1.0, "
                         "we can conclude that your requirements are unsatisfiable.")
    assert lines[-2] == "scikit-lern-typo==1.0 is declared in requirements.txt:2"
    log = root / ".dockyard" / "build.log"
    assert lines[-1] == (f"hint: fix the name or version where it is declared; uv's full "
                         f"output is in {log}")
    assert log.is_file() and "scikit-lern-typo" in log.read_text()
    assert "RUN" not in ran.stderr and "Traceback" not in ran.stderr


def test_a_conflict_names_both_sides(engine: None, tmp_path: Path) -> None:
    root = _requirements_project(tmp_path / "conflict", "numpy<1.20\npandas>=2.2\n")
    ran = run_dockyard("-C", str(root), "build")
    assert ran.code == 1
    lines = ran.stderr.strip().splitlines()
    assert lines[-4] == ("error: cannot resolve dependencies: Because you require numpy<1.20 "
                         "and pandas>=2.2, we can conclude that your requirements are "
                         "unsatisfiable.")
    assert lines[-3:-1] == ["numpy<1.20 is declared in requirements.txt:1",
                            "pandas>=2.2 is declared in requirements.txt:2"]


NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
               "source": ["%pip install -q tabulate==0.8.10\n", "import tabulate\n",
                          "print(tabulate.__version__)\n"]}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def test_two_builds_install_the_same_pinned_set(engine: None, tmp_path: Path) -> None:
    """...with what a notebook in a subfolder `%pip install`s, at its pin, before it runs."""
    root = _requirements_project(tmp_path / "pinned", "six\n")
    (root / "main.py").write_text("import six\n")
    (root / "notebooks").mkdir()
    (root / "notebooks" / "explore.ipynb").write_text(json.dumps(NOTEBOOK))
    try:
        first = run_dockyard("-C", str(root), "build", "--json", timeout=900)
        second = run_dockyard("-C", str(root), "build", "--json", "--no-cache", timeout=900)
        assert first.code == 0 and second.code == 0, second.stderr
        pins = json.loads(first.stdout)["pins"]
        assert pins == json.loads(second.stdout)["pins"]
        assert "tabulate==0.8.10" in pins
        frozen = docker("run", "--rm", _image(root), "pip", "freeze").stdout.split()
        assert {p for p in pins if p.split("==")[0] in ("six", "tabulate")} <= set(frozen)
        # The cell's own `%pip install` finds it there: the non-root run needs no network.
        ran = run_dockyard("-C", str(root), "run", "notebooks/explore.ipynb", "--no-build",
                           timeout=300)
        assert ran.code == 0, ran.stderr
        executed = json.loads((root / "notebooks" / "explore.executed.ipynb").read_text())
        outputs = "".join("".join(o.get("text", "")) for o in executed["cells"][0]["outputs"])
        assert "0.8.10" in outputs, outputs
    finally:
        docker("rmi", _image(root), check=False)


PIPFILE_LOCK = {
    "_meta": {"hash": {"sha256": "0" * 64}, "pipfile-spec": 6, "requires": {},
              "sources": [{"name": "pypi", "url": "https://pypi.org/simple",
                           "verify_ssl": True}]},
    "default": {"six": {"version": "==1.16.0"}},
    "develop": {},
}


def test_a_stale_pipfile_lock_is_installed_as_locked(engine: None, tmp_path: Path) -> None:
    root = tmp_path / "pipenv"
    root.mkdir()
    (root / "Pipfile").write_text('[packages]\nsix = "*"\ntabulate = "*"\n')
    (root / "Pipfile.lock").write_text(json.dumps(PIPFILE_LOCK))
    (root / "main.py").write_text("import six\n")
    try:
        doc = json.loads(run_dockyard("-C", str(root), "inspect", "--json").stdout)
        stale = [f["message"] for f in doc["findings"] if "stale" in f["message"]]
        assert stale and "Pipfile.lock" in stale[0], doc["findings"]
        ran = run_dockyard("-C", str(root), "run", "--", "pip", "freeze", timeout=900)
        assert ran.code == 0, ran.stderr
        frozen = ran.stdout.split()
        assert "six==1.16.0" in frozen
        assert not any(p.startswith("tabulate==") for p in frozen)  # the lock, not the Pipfile
    finally:
        docker("rmi", _image(root), check=False)



SETUP_CFG = """\
[metadata]
name = weather
version = 0.1

[options]
packages = weather
install_requires =
    tabulate==0.8.10  # older than PyPI's newest: an unpinned guess would differ
"""


def test_a_declarative_setuptools_package_gets_its_install_requires(engine: None,
                                                                     tmp_path: Path) -> None:
    """pyproject.toml with only [build-system], the metadata in setup.cfg: the package is
    installed without dependencies, so setup.cfg's list is what the image must install."""
    root = tmp_path / f"weather-{os.getpid()}"
    (root / "weather").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n')
    (root / "setup.cfg").write_text(SETUP_CFG)
    (root / "weather" / "__init__.py").write_text("import tabulate\n")
    try:
        ran = run_dockyard("-C", str(root), "run", "--", "python", "-c",
                           "import weather, tabulate; print(tabulate.__version__)", timeout=900)
        assert ran.code == 0, ran.stderr
        assert ran.stdout.strip().splitlines()[-1] == "0.8.10"
    finally:
        _cleanup_label(root)
        docker("rmi", _image(root), check=False)
