"""Commands in process on a FakeEngine: parse, call one use case, render the result.

The engine check (`Context.engine`) hands out the fake; the exact argv each use case runs is
checked in tests/unit/app, so these check what the user sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.cli import cli
from dockyard.engine.fake import FakeEngine
from dockyard.errors import CommandExit, UserError
from tests.unit.app.test_running import ps_row
from tests.unit.app.test_stack_use_cases import SPEC, row
from tests.unit.stack.helpers import write_project


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine().answer("images", stdout="localhost/dockyard/proj:latest 0abc\n")
    monkeypatch.setattr("dockyard.cli._main.Context.engine", lambda self, check=True: fake)
    monkeypatch.setattr("dockyard.engine.ready.HttpReady.wait", lambda self, *a: 0.5)
    monkeypatch.setenv("DOCKYARD_SERVICE_IMAGES", "official")
    return fake


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_project(tmp_path / "proj", SPEC, {"train.py": "import pandas\n",
                                                   "prep.py": "import pandas\n"})


def dockyard(root: Path, *args: str) -> tuple[int, str, str]:
    ran = CliRunner().invoke(cli, ["-C", str(root), *args], catch_exceptions=False)
    return ran.exit_code, ran.stdout, ran.stderr


def test_run_passes_the_exit_code_through(root: Path, engine: FakeEngine) -> None:
    engine.answer("run", returncode=4)
    with pytest.raises(CommandExit) as exit_:
        dockyard(root, "run", "--no-build", "--", "python", "train.py")
    assert exit_.value.code == 4


def test_lab_detached_prints_its_url(root: Path, engine: FakeEngine) -> None:
    engine.answer("run", stdout="c0ffee\n")
    code, stdout, stderr = dockyard(root, "lab", "-d", "--no-build", "--port", "18932")
    assert code == 0, stderr
    assert stdout.startswith("JupyterLab is ready (0.5s): http://127.0.0.1:18932/lab?token=")
    assert "running in the background" in stderr


def test_lab_in_the_foreground_follows_the_logs_then_stops(root: Path,
                                                           engine: FakeEngine) -> None:
    engine.answer("run", stdout="c0ffee\n")
    code, _, stderr = dockyard(root, "lab", "--no-build", "--port", "18933")
    assert code == 0, stderr
    assert engine.ran("logs", "-f")[0].mode == "foreground"
    assert [c[:2] for c in engine.commands[-2:]] == [("stop", "-t"), ("rm", "-f")]
    assert engine.commands[-1][-1].endswith("-lab")


def test_ps_and_stop(root: Path, engine: FakeEngine) -> None:
    engine.answer("ps", stdout=ps_row("dockyard-p-lab", "127.0.0.1:8888->8888/tcp") + "\n")
    code, stdout, _ = dockyard(root, "ps", "--json")
    assert code == 0
    assert json.loads(stdout)["containers"][0]["name"] == "dockyard-p-lab"
    code, stdout, _ = dockyard(root, "ps")
    assert "dockyard-p-lab" in stdout.splitlines()[1]
    code, stdout, _ = dockyard(root, "stop")
    assert (code, stdout) == (0, "stopped dockyard-p-lab\n")


def test_serve_detached(root: Path, engine: FakeEngine) -> None:
    (root / "model.pkl").write_bytes(b"x")
    engine.answer("run", stdout="5e12e\n")
    code, stdout, stderr = dockyard(root, "serve", "--model", "model.pkl", "--no-build", "-d",
                                    "--port", "18934", "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["url"] == "http://127.0.0.1:18934"


def test_up_detached_lists_the_endpoints(root: Path, engine: FakeEngine) -> None:
    code, stdout, stderr = dockyard(root, "up", "-d", "--no-build")
    assert code == 0, stderr
    assert "is up and healthy" in stdout and "lab" in stdout.splitlines()[1]


def test_up_in_the_foreground_stops_the_stack_after_the_logs(root: Path,
                                                              engine: FakeEngine) -> None:
    code, _, stderr = dockyard(root, "up", "--no-build")
    assert code == 0, stderr
    assert engine.ran("compose", "logs")[0].mode == "foreground"
    assert engine.ran("compose", "stop")


def test_down_stack_ps_and_logs(root: Path, engine: FakeEngine) -> None:
    dockyard(root, "compose")
    engine.answer("compose", "ps", stdout=row("postgres", health="healthy") + "\n")
    code, stdout, _ = dockyard(root, "stack", "ps")
    assert code == 0 and stdout.splitlines()[1].startswith("postgres")
    code, _, _ = dockyard(root, "logs", "postgres")
    assert code == 0 and engine.ran("compose", "logs")[-1].args[-1] == "postgres"
    with pytest.raises(UserError, match="no container of a service named 'nope'"):
        dockyard(root, "logs", "nope")
    code, stdout, _ = dockyard(root, "down")
    assert code == 0 and stdout.startswith("stack ")


def test_pipeline_run_reports_each_step(root: Path, engine: FakeEngine) -> None:
    engine.answer("compose", "ps", stdout="\n".join(
        [row("postgres"), row("prep", "exited"), row("train", "exited")]) + "\n")
    code, stdout, stderr = dockyard(root, "pipeline", "run", "--no-build")
    assert code == 0, stderr
    assert stdout.splitlines()[-1].startswith("pipeline finished: 2 step(s)")


def test_compose_writes_and_checks_the_file(root: Path, engine: FakeEngine) -> None:
    code, stdout, stderr = dockyard(root, "compose")
    assert code == 0, stderr
    assert stdout.startswith("wrote compose.yaml") and "docker compose config: ok" in stdout
    engine.answer("compose", "config", returncode=1, stderr="invalid interpolation\n")
    with pytest.raises(UserError, match="docker compose config rejects the stack: invalid"):
        dockyard(root, "compose")
