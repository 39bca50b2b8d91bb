"""Issue 8 item 3: secrets reach containers by name (`-e NAME`, the value in the docker
client's environment), so neither `ps` nor a `-v` log shows them; the stack's API key comes
from .env, never from compose.yaml."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dockyard.app import running, serving
from dockyard.app.context import load_project
from dockyard.engine import _cmd
from dockyard.engine.fake import FakeEngine
from dockyard.errors import SpecError
from dockyard.render import docker_run
from dockyard.workload import Workload, env, secret_env
from tests.unit.stack.helpers import document, write_project

SECRET = "0123456789abcdef-secret"


def test_run_argv_names_secrets_and_the_child_env_carries_them() -> None:
    w = Workload(name="", role="lab", project="p", image="img",
                 env=(env("HOME", "/tmp"), secret_env("JUPYTER_TOKEN")))
    argv = docker_run.run_argv(w, detach=True)
    assert argv[argv.index("HOME=/tmp") + 2:argv.index("HOME=/tmp") + 3] == ["JUPYTER_TOKEN"]
    assert not any(SECRET in a for a in argv)
    assert docker_run.child_env(w, {"JUPYTER_TOKEN": SECRET}) == {"JUPYTER_TOKEN": SECRET}
    assert SECRET not in repr(w)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    """An engine that starts container c0ffee and records every command."""
    monkeypatch.setattr(running, "port_free", lambda host, port: True)
    monkeypatch.setattr(serving, "port_free", lambda host, port: True)
    monkeypatch.setattr("dockyard.engine.ready.HttpReady.wait", lambda self, *a: 0.1)
    return FakeEngine().answer("run", stdout="c0ffee\n")


def test_lab_token_is_not_in_the_docker_argv(tmp_path: Path, engine: FakeEngine) -> None:
    (tmp_path / "train.py").write_text("import pandas\n")
    session = running.start_lab(engine, load_project(tmp_path), "img")
    call = engine.ran("run")[0]
    assert not any(session.token in a for a in call.args)
    assert call.args[call.args.index("JUPYTER_TOKEN") - 1] == "-e"
    assert call.env == {"JUPYTER_TOKEN": session.token}


def test_serve_api_key_is_not_in_the_docker_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 engine: FakeEngine) -> None:
    (tmp_path / "train.py").write_text("import pandas\n")
    monkeypatch.setenv("DOCKYARD_API_KEY", SECRET)
    serving.start_serving(engine, load_project(tmp_path), "img")
    call = engine.ran("run")[0]
    assert not any(SECRET in a for a in call.args)
    assert call.args[call.args.index("DOCKYARD_API_KEY") - 1] == "-e"
    # The key is in this process's environment already: the client inherits it as is.
    assert "DOCKYARD_API_KEY" not in call.env


def test_verbose_log_masks_secret_values(caplog: pytest.LogCaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _cmd.Engine(client=_cmd.Client("/bin/true", "26", True))
    with caplog.at_level(logging.DEBUG, logger="dockyard.engine"):
        engine.docker("run", "-e", f"JUPYTER_TOKEN={SECRET}", "-e", "HOME=/tmp",
                    f"https://u:{SECRET}@host/simple", check=False)
    assert SECRET not in caplog.text
    assert "JUPYTER_TOKEN=***" in caplog.text and "HOME=/tmp" in caplog.text
    assert "https://***@host/simple" in caplog.text


def test_stack_api_key_comes_from_env_file_not_compose(tmp_path: Path) -> None:
    root = write_project(tmp_path / "proj", '[services.api]\npredictor = "m:P"\n')
    api = document(root)["services"]["api"]
    assert api["environment"]["DOCKYARD_API_KEY"] == "${DOCKYARD_API_KEY:-}"
    write_project(root, f'[services.api]\npredictor = "m:P"\nenv = {{DOCKYARD_API_KEY = '
                        f'"{SECRET}"}}\n')
    with pytest.raises(SpecError) as err:
        document(root)
    assert err.value.problems == (
        "services.api.env.DOCKYARD_API_KEY: a secret does not belong in dockyard.toml (it would "
        "be written into compose.yaml): put DOCKYARD_API_KEY=... in .env instead",)
