"""app/notebooks.py: the job a request becomes, the runner argv it gives, and how the runner's
streamed lines become a result. The engine's part is replaced by a recorder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.app import notebooks
from dockyard.app.notebooks import NotebookJob, notebook_argv, notebook_job, run_notebook
from dockyard.engine.fake import FakeEngine
from dockyard.errors import UserError
from dockyard.workload import Workload
from tests.nbproject import ANALYSIS, make_project

RUNNER = "/opt/dockyard/runtime/run_notebook.py"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


def test_defaults_put_the_copies_beside_the_notebook(root: Path) -> None:
    assert notebook_job(root, ANALYSIS) == NotebookJob(
        ANALYSIS, "notebooks/analysis.executed.ipynb")
    assert notebook_job(root, f"./notebooks/../{ANALYSIS}", html=True).html == \
        "notebooks/analysis.executed.html"
    assert notebook_job(root, ANALYSIS, output="reports/a.ipynb", html=True).html == \
        "reports/a.html"


def test_argv_for_typed_values_and_command_line_parameters(root: Path) -> None:
    job = notebook_job(root, ANALYSIS, output="out/a.ipynb", html=True,
                       parameters=[("alpha", "0.5"), ("name", "x")],
                       values=[("tag", "10"), ("layers", [1, 2])], timeout=0)
    assert notebook_argv(job) == (
        "python3", RUNNER, ANALYSIS, "out/a.ipynb",
        "--parameters-json", json.dumps({"layers": [1, 2], "tag": "10"}),
        "-p", "alpha", "0.5", "-p", "name", "x", "--html", "out/a.html", "--timeout", "0")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"notebook": "data/customers.csv"}, "notebook 'data/customers.csv' not found"),
    ({"notebook": "/etc/passwd.ipynb"}, "notebook '/etc/passwd.ipynb' is outside the project"),
    ({"output": "/tmp/x.ipynb"}, "--output '/tmp/x.ipynb' is outside the project folder"),
    ({"output": "x.html"}, "--output 'x.html' must end in .ipynb"),
    ({"values": [("1st", 1)]}, "parameter name '1st' is not a Python variable name"),
    ({"parameters": [("a b", "1")]}, "parameter name 'a b' is not a Python variable name"),
])
def test_bad_requests(root: Path, kwargs: dict[str, object], message: str) -> None:
    notebook = str(kwargs.pop("notebook", ANALYSIS))
    with pytest.raises(UserError, match=message):
        notebook_job(root, notebook, **kwargs)  # type: ignore[arg-type]


class Workloads:
    def __init__(self) -> None:
        self.commands: list[tuple[str, ...]] = []

    def project_workload(self, project: object, image: str, command: tuple[str, ...],
                         role: str) -> Workload:
        assert role == "notebook"
        self.commands.append(command)
        return Workload(name="", role=role, project="p", image=image, command=command)


def run_with(monkeypatch: pytest.MonkeyPatch, root: Path, lines: list[str],
             code: int) -> tuple[notebooks.NotebookRun, list[str], Workloads]:
    made = Workloads()
    monkeypatch.setattr(notebooks, "project_workload", made.project_workload)
    engine = FakeEngine().answer("run", stdout="\n".join(lines) + "\n", returncode=code)
    shown: list[str] = []
    job = notebook_job(root, ANALYSIS, parameters=[("alpha", "1")])
    result = run_notebook(engine, object(), "img", job, shown.append)  # type: ignore[arg-type]
    assert engine.calls[0].mode == "streamed"
    return result, shown, made


def test_a_named_cell_failure_is_taken_from_the_marker(monkeypatch: pytest.MonkeyPatch,
                                                       root: Path) -> None:
    lines = ["[1/2] cell 1: x = 1", "[2/2] cell 2: boom()", "  | NameError: boom",
             "DOCKYARD_CELL_ERROR: cell 2 raised NameError: name 'boom' is not defined"]
    result, shown, fake = run_with(monkeypatch, root, lines, 1)
    assert shown == lines[:-1]  # the marker is for dockyard, not for the terminal
    assert (result.exit_code, result.error, result.cell_failed) == (
        1, "cell 2 raised NameError: name 'boom' is not defined", True)
    assert fake.commands == [notebook_argv(notebook_job(root, ANALYSIS,
                                                        parameters=[("alpha", "1")]))]


def test_a_failure_before_any_cell_gives_the_last_line(monkeypatch: pytest.MonkeyPatch,
                                                       root: Path) -> None:
    lines = ["python3: can't open file '/opt/dockyard/runtime/run_notebook.py'", ""]
    result, _, _ = run_with(monkeypatch, root, lines, 2)
    assert (result.exit_code, result.cell_failed) == (2, False)
    assert result.error == lines[0]
    result, _, _ = run_with(monkeypatch, root, [], 137)
    assert result.error == "the notebook run failed (exit code 137)"


def test_success(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    result, shown, _ = run_with(monkeypatch, root, ["[1/1] cell 1: x", "1 code cells …"], 0)
    assert (result.exit_code, result.error, result.output) == (
        0, "", "notebooks/analysis.executed.ipynb")
    assert shown == ["[1/1] cell 1: x", "1 code cells …"]
