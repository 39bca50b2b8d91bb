"""Python version: precedence between files, specifier picking, conflicts as warnings."""

from __future__ import annotations

import pytest

from dockyard.detect import detect
from dockyard.detect._python import choose_python, satisfies
from dockyard.detect._types import PythonChoice
from tests.unit.detect.conftest import MakeProject

PYPROJECT = '[project]\nname = "x"\nrequires-python = "{}"\n'


def python_of(make_project: MakeProject, files: dict[str, str]) -> PythonChoice:
    return detect(make_project(files)).python


def test_default_when_nothing_says(make_project: MakeProject) -> None:
    assert python_of(make_project, {"a.py": ""}) == PythonChoice("3.11", "default")


def test_default_python_is_a_parameter(make_project: MakeProject) -> None:
    assert detect(make_project({}), default_python="3.12").python == PythonChoice("3.12", "default")


def test_python_version_file_wins_and_is_reported_as_major_minor(
    make_project: MakeProject,
) -> None:
    files = {
        ".python-version": "3.12.4\n",
        "runtime.txt": "python-3.12.1",
        "environment.yml": "dependencies: [python=3.12]\n",
    }
    assert python_of(make_project, files) == PythonChoice("3.12", ".python-version")


def test_runtime_txt_beats_pyproject(make_project: MakeProject) -> None:
    files = {"runtime.txt": "python-3.10.14\n", "pyproject.toml": PYPROJECT.format(">=3.10")}
    assert python_of(make_project, files) == PythonChoice("3.10", "runtime.txt")


@pytest.mark.parametrize(
    ("specifier", "expected"),
    [
        (">=3.9", "3.11"),
        (">=3.12", "3.13"),
        ("<3.11", "3.10"),
        ("~=3.12.0", "3.12"),
        (">=3.10,<3.11", "3.10"),
        ("==3.11.*", "3.11"),
    ],
)
def test_requires_python_picks_default_else_newest_supported(
    make_project: MakeProject, specifier: str, expected: str
) -> None:
    files = {"pyproject.toml": PYPROJECT.format(specifier)}
    assert python_of(make_project, files) == PythonChoice(expected, "pyproject.toml")


def test_pyproject_beats_environment_yml(make_project: MakeProject) -> None:
    files = {
        "pyproject.toml": PYPROJECT.format(">=3.12"),
        "environment.yml": "dependencies: [python=3.10]\n",
    }
    det = detect(make_project(files))
    assert det.python == PythonChoice("3.13", "pyproject.toml")
    assert any("environment.yml says 3.10" in f.message for f in det.findings)


def test_environment_yml_beats_default(make_project: MakeProject) -> None:
    files = {"environment.yml": "dependencies: [python=3.10.12]\n"}
    assert python_of(make_project, files) == PythonChoice("3.10", "environment.yml")


def test_conflict_with_requires_python_is_a_warning(make_project: MakeProject) -> None:
    files = {".python-version": "3.12\n", "pyproject.toml": PYPROJECT.format("<3.12")}
    det = detect(make_project(files))
    assert det.python == PythonChoice("3.12", ".python-version")
    warnings = [f.message for f in det.findings if f.severity == "warning"]
    assert warnings == [
        ".python-version says Python 3.12 but pyproject.toml requires <3.12; using 3.12"
    ]


def test_agreeing_files_give_no_finding(make_project: MakeProject) -> None:
    files = {".python-version": "3.12\n", "pyproject.toml": PYPROJECT.format(">=3.10")}
    assert not [f for f in detect(make_project(files)).findings if "Python" in f.message]


def test_unsatisfiable_specifier_is_ignored_with_a_warning() -> None:
    chosen, findings = choose_python([PythonChoice(">=4", "pyproject.toml")], "3.11")
    assert chosen == PythonChoice("3.11", "default")
    assert "matches none of 3.10, 3.11, 3.12, 3.13" in findings[0].message


def test_unreadable_python_version_file_warns(make_project: MakeProject) -> None:
    det = detect(make_project({".python-version": "pypy3.10\n"}))
    assert det.python.source == "default"
    assert any(".python-version: no CPython version found" in f.message for f in det.findings)


def test_satisfies_works_on_minors() -> None:
    assert satisfies("3.11", ">=3.11.4")
    assert satisfies("3.11", "<3.11.2")
    assert not satisfies("3.11", "!=3.11.*")


def test_versions_outside_the_supported_range_are_kept_with_a_warning(
    make_project: MakeProject,
) -> None:
    det = detect(make_project({".python-version": "3.8.18\n"}))
    assert det.python == PythonChoice("3.8", ".python-version")
    assert "outside the versions dockyard supports (3.10 to 3.13)" in det.findings[0].message
