"""`dockyard run`, `lab`, `stop` and `serve` as use cases, on a FakeEngine."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from dockyard.app import running, serving
from dockyard.app.context import load_project
from dockyard.engine.fake import FakeEngine
from dockyard.errors import NotReadyError, UserError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text("import pandas\n")
    return tmp_path


def test_run_mounts_the_project_as_its_owner_and_returns_the_exit_code(
        root: Path, engine: FakeEngine) -> None:
    engine.answer("run", returncode=3)
    code = running.run_command(engine, load_project(root), "img", ("python", "train.py"))
    assert code == 3
    call = engine.calls[-1]
    assert call.mode == "foreground"
    args = call.args
    assert args[-3:] == ("img", "python", "train.py")
    assert args[args.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
    assert f"source={root}" in args[args.index("--mount") + 1]
    assert "--rm" in args and args[args.index("--cap-drop") + 1] == "ALL"


def test_run_without_a_command_is_a_user_error(root: Path, engine: FakeEngine) -> None:
    with pytest.raises(UserError, match="nothing to run"):
        running.run_command(engine, load_project(root), "img", ())
    assert engine.calls == []


def test_lab_starts_behind_a_fresh_token(root: Path, engine: FakeEngine) -> None:
    engine.answer("run", stdout="0123456789abcdef\n")
    project = load_project(root)
    session = running.start_lab(engine, project, "img", port=18888, host="0.0.0.0")
    assert session.container == "0123456789ab"
    assert session.url == f"http://127.0.0.1:18888/lab?token={session.token}"
    assert session.name == f"dockyard-{project.spec.project_key}-lab"
    run = engine.ran("run")[0]
    assert run.env == {"JUPYTER_TOKEN": session.token}
    assert "0.0.0.0:18888:8888" in run.args
    assert [c[0] for c in engine.commands] == ["inspect", "stop", "rm", "run"]


def test_a_running_lab_is_not_started_twice(root: Path, engine: FakeEngine) -> None:
    engine.answer("inspect", stdout="true\n")
    with pytest.raises(UserError, match="already running"):
        running.start_lab(engine, load_project(root), "img", port=18889)
    assert not engine.ran("run")


def test_a_port_in_use_is_refused_before_anything_starts(root: Path,
                                                        engine: FakeEngine) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(UserError, match=f"port {port} is already in use"):
            running.start_lab(engine, load_project(root), "img", port=port, host="127.0.0.1")
    assert not engine.ran("run")


def test_a_lab_that_never_answers_is_stopped(root: Path, engine: FakeEngine,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def never(self: object, *args: object) -> float:
        raise NotReadyError("http://127.0.0.1:18890/api/status", 1, "boom")

    monkeypatch.setattr("dockyard.engine.ready.HttpReady.wait", never)
    engine.answer("run", stdout="feedface\n")
    with pytest.raises(NotReadyError):
        running.start_lab(engine, load_project(root), "img", port=18890)
    assert engine.commands[-2:] == [("stop", "-t", "1", "feedface"), ("rm", "-f", "feedface")]


def ps_row(name: str, ports: str = "", role: str = "lab", project: str = "p") -> str:
    return json.dumps({"ID": "abcdef1234567890", "Names": name, "Image": "img",
                       "Status": "Up 1 minute", "Ports": ports,
                       "Labels": f"dev.dockyard.project={project},dev.dockyard.role={role}"})


def test_stop_stops_every_container_of_the_project(root: Path, engine: FakeEngine) -> None:
    engine.answer("ps", stdout=ps_row("a") + "\n" + ps_row("b") + "\n")
    project = load_project(root)
    assert running.stop_project(engine, project) == ["a", "b"]
    assert engine.ran("ps")[0].args[2] == f"label=dev.dockyard.project={project.spec.project_key}"
    assert len(engine.ran("stop")) == 2 and len(engine.ran("rm")) == 2


def test_serve_starts_read_only_with_its_settings(root: Path, engine: FakeEngine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_API_KEY", raising=False)
    engine.answer("run", stdout="5e12e\n")
    project = load_project(root)
    session = serving.start_serving(engine, project, "img", port=18080, workers=3,
                                    image_id="sha256:1")
    assert session.url == "http://127.0.0.1:18080"
    args = engine.ran("run")[0].args
    assert "--read-only" in args and args[args.index("--stop-timeout") + 1] == "35"
    assert "DOCKYARD_WORKERS=3" in args and "DOCKYARD_IMAGE_ID=sha256:1" in args
    assert "DOCKYARD_API_KEY" not in args


def test_serving_url_comes_from_the_running_container(root: Path, engine: FakeEngine) -> None:
    project = load_project(root)
    name = f"dockyard-{project.spec.project_key}-serve"
    engine.answer("ps", stdout=ps_row(name, "127.0.0.1:18080->8080/tcp", "serve") + "\n")
    assert serving.serving_url(engine, project) == "http://127.0.0.1:18080"


def test_no_server_running_is_a_user_error(root: Path, engine: FakeEngine) -> None:
    with pytest.raises(UserError, match="no model server is running"):
        serving.serving_url(engine, load_project(root))
