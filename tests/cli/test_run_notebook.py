"""`dockyard run NOTEBOOK`'s flags: where they may stand, what reaches the runner, and bad input.

Bad input is refused before any engine is asked (DOCKER_HOST points nowhere), with one `error:`
and one `hint:` line and exit 1, and no file written. What a good command line turns into is
checked in process, with the engine's part replaced by a recorder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.app import notebooks
from dockyard.app.notebooks import NotebookJob, NotebookRun, notebook_argv
from dockyard.cli import cli
from dockyard.engine.fake import FakeEngine
from tests.cli.test_errors import snapshot
from tests.conftest import run_dockyard
from tests.nbproject import ANALYSIS, make_project

NO_ENGINE = {"DOCKER_HOST": "unix:///tmp/dockyard-no-engine.sock"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


@pytest.mark.parametrize(("args", "error", "hint"), [
    ([ANALYSIS, "-p", "learning-rate", "0.1"],
     "parameter name 'learning-rate' is not a Python variable name",
     "-p NAME VALUE, for example: -p alpha 0.5"),
    (["notebooks/missing.ipynb"], "notebook 'notebooks/missing.ipynb' not found",
     "give the path of an .ipynb file inside the project"),
    (["../outside.ipynb"], "notebook '../outside.ipynb' is outside the project folder",
     "the container sees only the project; use a path inside it, or pass -C to another folder"),
    ([ANALYSIS, "-o", "../copy.ipynb"], "--output '../copy.ipynb' is outside the project folder",
     "the container sees only the project; use a path inside it, or pass -C to another folder"),
    ([ANALYSIS, "-o", "out/report.txt"], "--output 'out/report.txt' must end in .ipynb",
     "for example: --output notebooks/analysis.out.ipynb"),
    ([ANALYSIS, "--output", ANALYSIS], f"--output '{ANALYSIS}' is the notebook itself",
     "name another file; the notebook is never overwritten"),
    ([ANALYSIS, "--timeout", "-1"], "--timeout -1 is negative", "seconds per cell; 0: none"),
    ([ANALYSIS, "extra.csv"], "unexpected 'extra.csv' after the notebook",
     "dockyard run NOTEBOOK [-p NAME VALUE]... [-o OUTPUT] [--html]"),
    (["-p", "alpha", "1", "--", "python", "train.py"],
     "-p, --output and --html apply to notebook runs",
     "dockyard run notebook.ipynb -p alpha 0.5 --html"),
    (["--html", "--", "python", "train.py"], "-p, --output and --html apply to notebook runs",
     "dockyard run notebook.ipynb -p alpha 0.5 --html"),
])
def test_bad_notebook_flags(project: Path, args: list[str], error: str, hint: str) -> None:
    before = snapshot(project)
    ran = run_dockyard("-C", str(project), "run", *args, env=NO_ENGINE)
    assert ran.code == 1, ran.stderr
    assert ran.stderr.strip().splitlines() == [f"error: {error}", f"hint: {hint}"]
    assert snapshot(project) == before


def test_a_parameter_without_its_value_is_a_usage_error(project: Path) -> None:
    ran = run_dockyard("-C", str(project), "run", ANALYSIS, "-p", "alpha", env=NO_ENGINE)
    assert ran.code == 2
    assert ran.stderr.strip().splitlines()[-1] == "Error: Option '-p' requires 2 arguments."
    assert "Traceback" not in ran.stderr


class Recorder:
    def __init__(self, result: NotebookRun | None = None,
                 said: tuple[str, ...] = ("[1/1] cell 1: x = 1",)) -> None:
        self.jobs: list[NotebookJob] = []
        self.result = result
        self.said = said

    def __call__(self, engine: object, project: object, image: str, job: NotebookJob,
                 on_line: object) -> NotebookRun:
        self.jobs.append(job)
        for line in self.said:
            on_line(line)  # type: ignore[operator]
        return self.result or NotebookRun(job.notebook, job.output, job.html, 0, "")


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    monkeypatch.setattr(notebooks, "run_notebook", rec)
    monkeypatch.setattr("dockyard.cli._main.Context.engine", lambda self, check=True: FakeEngine())
    monkeypatch.setattr("dockyard.cli.run_cmds.up_to_date_image", lambda *_args: "img")
    return rec


def invoke(project: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-C", str(project), "run", *args],
                                catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", [
    [ANALYSIS, "-p", "alpha", "0.5", "-p", "name", "x", "--html", "-o", "out/a.ipynb"],
    ["-p", "alpha", "0.5", ANALYSIS, "--parameter", "name", "x", "--output", "out/a.ipynb",
     "--html"],
    ["-o", "elsewhere.ipynb", "-p", "alpha", "0.5", "-p", "name", "x", "--html", ANALYSIS,
     "-o", "out/a.ipynb"],
])
def test_flags_before_and_after_the_notebook_reach_the_runner(
        project: Path, recorder: Recorder, args: list[str]) -> None:
    code, stdout, stderr = invoke(project, *args)
    assert code == 0, stderr
    assert recorder.jobs == [NotebookJob(ANALYSIS, "out/a.ipynb", "out/a.html",
                                         (("alpha", "0.5"), ("name", "x")), (), 600)]
    assert stdout.startswith(f"ran {ANALYSIS} -> out/a.ipynb and out/a.html (")
    assert stderr.splitlines() == [f"executing {ANALYSIS} in the project's image…",
                                   "[1/1] cell 1: x = 1"]


def test_defaults_and_the_runner_argv(project: Path, recorder: Recorder) -> None:
    code, stdout, _ = invoke(project, ANALYSIS, "--timeout", "30", "-p", "flag", "--verbose")
    assert code == 0
    job = recorder.jobs[0]
    assert job == NotebookJob(ANALYSIS, "notebooks/analysis.executed.ipynb", "",
                              (("flag", "--verbose"),), (), 30)
    assert notebook_argv(job) == (
        "python3", "/opt/dockyard/runtime/run_notebook.py", ANALYSIS,
        "notebooks/analysis.executed.ipynb", "-p", "flag", "--verbose", "--timeout", "30")
    assert stdout.startswith(f"ran {ANALYSIS} -> notebooks/analysis.executed.ipynb (")


def test_json_report(project: Path, recorder: Recorder) -> None:
    code, stdout, _ = invoke(project, ANALYSIS, "-p", "alpha", "2", "--json")
    assert code == 0
    report = json.loads(stdout)
    assert {k: report[k] for k in ("notebook", "output", "html", "parameters", "exit_code",
                                   "error")} == {
        "notebook": ANALYSIS, "output": "notebooks/analysis.executed.ipynb", "html": "",
        "parameters": {"alpha": "2"}, "exit_code": 0, "error": ""}


def test_a_failing_cell_is_an_error_naming_it(project: Path, monkeypatch: pytest.MonkeyPatch,
                                               ) -> None:
    failed = NotebookRun(ANALYSIS, "notebooks/analysis.executed.ipynb", "", 1,
                         "cell 4 raised ValueError: bad rows: 3", cell_failed=True)
    monkeypatch.setattr(notebooks, "run_notebook",
                        Recorder(failed, said=("  | ValueError: bad rows: 3",)))
    monkeypatch.setattr("dockyard.cli._main.Context.engine", lambda self, check=True: FakeEngine())
    monkeypatch.setattr("dockyard.cli.run_cmds.up_to_date_image", lambda *_args: "img")
    ran = CliRunner().invoke(cli, ["-C", str(project), "run", ANALYSIS])
    assert ran.stderr.splitlines()[-1] == "  | ValueError: bad rows: 3"
    assert ran.exception is not None
    assert ran.exception.args[0] == f"{ANALYSIS}: cell 4 raised ValueError: bad rows: 3"
    assert ran.exception.hint == (  # type: ignore[attr-defined]
        "the executed copy with the traceback is in notebooks/analysis.executed.ipynb")
