"""`up`, `down`, `pipeline run` as use cases on a FakeEngine: what they run and what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.app import pipeline, stack
from dockyard.app.context import load_project
from dockyard.engine.fake import FakeEngine
from dockyard.errors import EngineError, UserError
from tests.unit.stack.helpers import write_project

SPEC = """\
[services.postgres]
[services.lab]
port = 18931

[pipeline.steps.prep]
command = "python prep.py"

[pipeline.steps.train]
command = "python train.py"
after = ["prep"]
retries = 1
"""


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> stack.Stack:
    monkeypatch.setenv("DOCKYARD_SERVICE_IMAGES", "official")
    root = write_project(tmp_path / "proj", SPEC, {"train.py": "import pandas\n",
                                                   "prep.py": "import pandas\n"})
    return stack.load_stack(FakeEngine(), load_project(root))


def ready(engine: FakeEngine) -> FakeEngine:
    """An engine with the project's image and every service image."""
    return engine.answer("images", stdout="localhost/dockyard/proj:latest 0abc\n")


def row(service: str, state: str = "running", health: str = "", code: int = 0) -> str:
    return json.dumps({"Service": service, "Name": f"proj-{service}-1", "State": state,
                       "Health": health, "ExitCode": code, "Publishers": [
                           {"URL": "127.0.0.1", "PublishedPort": 18931, "TargetPort": 8888}]})


def test_up_writes_the_files_and_starts_the_long_running_services(
        loaded: stack.Stack, engine: FakeEngine) -> None:
    started, skipped = stack.start_stack(ready(engine), loaded, no_build=True)
    assert (started, skipped) == (["lab", "postgres"], [])
    root = loaded.project.root
    assert (root / "compose.yaml").is_file() and (root / ".env").stat().st_mode & 0o777 == 0o600
    assert engine.ran("tag")[0].args == ("tag", "localhost/dockyard/proj:latest",
                                         loaded.project.image)
    up = engine.ran("compose", "up")[0]
    assert up.args[-2:] == ("lab", "postgres") and "--wait" in up.args
    assert ("compose", "version", "--short") in engine.commands


def test_an_unhealthy_service_is_named_with_its_log(loaded: stack.Stack,
                                                    engine: FakeEngine) -> None:
    ready(engine).answer("compose", "up", returncode=1, stdout="dependency failed\n")
    engine.answer("compose", "ps", stdout=row("postgres", health="unhealthy") + "\n")
    engine.answer("compose", "ps", stdout="", once=True)  # before up: nothing runs yet
    engine.answer("compose", "logs", stdout="FATAL: bad config\n")
    with pytest.raises(EngineError) as err:
        stack.start_stack(engine, loaded, no_build=True)
    assert err.value.message == "service postgres did not become healthy (unhealthy)"
    assert err.value.stderr_tail == "FATAL: bad config"


def test_out_of_memory_says_which_setting_to_raise(loaded: stack.Stack,
                                                   engine: FakeEngine) -> None:
    engine.answer("compose", "ps", stdout=row("postgres", "exited", code=137) + "\n")
    engine.answer("inspect", stdout="true\n")
    failure = stack.failure(engine, loaded, ["postgres"], "")
    assert "killed: out of memory" in failure.message
    assert failure.hint == 'give it more: memory = "4g" in [services.postgres]'


def test_a_service_port_in_use_is_refused(loaded: stack.Stack, engine: FakeEngine,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack, "port_free", lambda host, port: False)
    with pytest.raises(UserError, match=r"port 18931 on 127.0.0.1 is already in use"):
        stack.check_ports(engine, loaded, ["lab"])


def test_endpoints_name_the_lab_url_with_its_token(loaded: stack.Stack,
                                                   engine: FakeEngine) -> None:
    stack.write_stack(loaded)
    token = stack.env_values(loaded)["JUPYTER_TOKEN"]
    assert stack.endpoints(loaded) == [("lab", f"http://127.0.0.1:18931/lab?token={token}")]


def test_pipeline_runs_the_steps_in_order_and_times_them(loaded: stack.Stack,
                                                         engine: FakeEngine) -> None:
    ready(engine).answer("compose", "up", "--no-deps", stdout="train-1  | done\n")
    engine.answer("compose", "ps", stdout="\n".join(
        [row("postgres"), row("prep", "exited"), row("train", "exited")]) + "\n")
    engine.answer("inspect", stdout="/proj-prep-1 2026-01-01T00:00:00Z 2026-01-01T00:00:02Z\n"
                                    "/proj-train-1 2026-01-01T00:00:02Z 2026-01-01T00:00:07Z\n")
    said: list[str] = []
    runs = pipeline.run_pipeline(engine, loaded, no_build=True, on_line=said.append)
    assert [(r.name, r.state, r.exit_code, r.seconds) for r in runs] == [
        ("prep", "exited", 0, 2.0), ("train", "exited", 0, 5.0)]
    assert said == ["train-1  | done"]
    assert engine.ran("compose", "rm")[0].args[-2:] == ("prep", "train")
    assert engine.ran("compose", "up", "--detach")[0].args[-1] == "postgres"


def test_a_failed_step_names_itself_its_attempts_and_what_did_not_run(
        loaded: stack.Stack, engine: FakeEngine) -> None:
    ready(engine).answer("compose", "up", "--no-deps", returncode=1)
    engine.answer("compose", "ps", stdout="\n".join(
        [row("prep", "exited", code=2), row("train", "created")]) + "\n")
    engine.answer("compose", "logs", stdout="Traceback: boom\n")
    with pytest.raises(EngineError) as err:
        pipeline.run_pipeline(engine, loaded, no_build=True)
    assert err.value.message == "pipeline step prep failed with exit code 2; not run: train"
    assert err.value.hint.endswith("dockyard pipeline run --from prep")


def test_from_selects_a_step_and_what_runs_after_it(loaded: stack.Stack) -> None:
    assert pipeline.select_steps(loaded, "train") == ["train"]
    assert pipeline.select_steps(loaded, None) == ["prep", "train"]
    with pytest.raises(UserError, match="no step named 'nope'"):
        pipeline.select_steps(loaded, "nope")


def test_a_gpu_step_on_an_engine_without_gpu_is_refused(tmp_path: Path,
                                                        engine: FakeEngine) -> None:
    root = write_project(tmp_path / "g", '[pipeline.steps.fit]\ncommand = "python t.py"\n'
                                         "gpu = true\n", {"t.py": "import torch\n"})
    loaded = stack.load_stack(engine, load_project(root))
    with pytest.raises(UserError, match="step fit needs a GPU"):
        pipeline.run_pipeline(engine, loaded)
