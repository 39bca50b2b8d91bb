"""The engine modules on a FakeEngine (image builds, pushes, service images, doctor), and the
process runner and readiness on real local processes and sockets (no Docker)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.app import doctor, service_images
from dockyard.engine import _cmd, images
from dockyard.engine.fake import FakeEngine
from dockyard.engine.ready import HttpReady
from dockyard.engine.runner import ProcessRunner, RunTimeout
from dockyard.errors import (
    BuildFailed,
    EngineError,
    EngineUnavailable,
    NotReadyError,
    PushDenied,
    UserError,
)
from dockyard.spec.catalog import CATALOG

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


def write_iid(args: tuple[str, ...]) -> None:
    Path(args[args.index("--iidfile") + 1]).write_text("sha256:1d\n")


BUILD_LOG = ("#5 [builder 1/3] FROM base\n#5 CACHED\n#6 [runtime 2/3] COPY . /workspace/\n"
             "#6 DONE 0.1s\n")


def test_a_build_reports_its_steps_and_size(tmp_path: Path, engine: FakeEngine) -> None:
    engine.answer("build", stdout=BUILD_LOG, then=write_iid)
    engine.answer("image", "inspect", stdout="1234\n")
    said: list[str] = []
    req = images.BuildRequest(tmp_path, tmp_path / "Dockerfile", "t:1", "base:1",
                              labels=(("a", "b"),), ca_cert=tmp_path / "ca.pem", target="x",
                              no_cache=True, secrets=(("index", "https://u:p@h/simple"),))
    result = images.build(engine, req, said.append)
    assert (result.id, result.size_bytes) == ("sha256:1d", 1234)
    assert result.cached_steps == ("[builder 1/3] FROM base",)
    assert said == BUILD_LOG.splitlines()
    args = engine.ran("build")[0].args
    assert "--no-cache" in args and args[args.index("--target") + 1] == "x"
    assert not any("u:p@" in a for a in args)  # the index secret travels in a file


def test_a_failed_build_is_a_build_error(tmp_path: Path, engine: FakeEngine) -> None:
    log = "#6 [runtime 2/3] RUN false\n#6 ERROR: process did not complete: exit code: 1\n"
    engine.answer("build", returncode=1, stdout=log)
    with pytest.raises(BuildFailed, match=r"build failed at \[runtime 2/3\] RUN false"):
        images.build(engine, images.BuildRequest(tmp_path, tmp_path / "D", "t", "b"))


def test_push_reports_the_digest(engine: FakeEngine) -> None:
    engine.answer("push", stdout=f"latest: digest: {DIGEST} size: 5\n")
    assert images.push(engine, "img", "reg:5000/img:1").digest == DIGEST
    assert engine.commands[0] == ("tag", "img", "reg:5000/img:1")


def test_push_falls_back_to_the_engines_record_of_the_digest(engine: FakeEngine) -> None:
    engine.answer("image", "inspect", stdout=f'["reg:5000/img@{DIGEST}"]')
    assert images.push(engine, "img", "reg:5000/img:1").digest == DIGEST
    engine.answer("image", "inspect", stdout="[]")
    with pytest.raises(EngineError, match="reported no digest"):
        images.push(engine, "img", "reg:5000/img:1")


@pytest.mark.parametrize(("said", "error", "message"), [
    ("unauthorized: authentication required", PushDenied, "refused the push"),
    ("connection refused", EngineError, "push to reg:5000 failed: connection refused")])
def test_a_refused_push(engine: FakeEngine, said: str, error: type[Exception],
                        message: str) -> None:
    engine.answer("push", returncode=1, stderr=said + "\n")
    with pytest.raises(error, match=message):
        images.push(engine, "img", "reg:5000/img:1")


def test_image_queries(engine: FakeEngine) -> None:
    engine.answer("images", stdout="<none>:<none> 0abc\n")
    assert images.latest_image(engine, ("k", "v")) == "0abc"
    engine.answer("image", "inspect", stdout='{"a": "b"}\n')
    assert images.image_labels(engine, "img") == {"a": "b"}
    engine.answer("image", "inspect", stdout='{"Labels": {"dev.dockyard.python": "3.12"}}')
    assert images.image_python(engine, "img") == "3.12"
    engine.answer("pull", returncode=1)
    assert images.try_pull(engine, "img") is False


def test_service_image_is_pulled_when_missing(engine: FakeEngine) -> None:
    engine.answer("image", "inspect", returncode=1)
    service_images.ensure_image(engine, CATALOG["postgres"], "postgres:15")
    assert engine.commands[-1] == ("pull", "--quiet", "postgres:15")
    engine.answer("pull", returncode=1)
    with pytest.raises(UserError, match="cannot be pulled") as err:
        service_images.ensure_image(engine, CATALOG["postgres"], "postgres:15")
    assert "dockyard base --services postgres" in err.value.hint
    with pytest.raises(UserError) as err:
        service_images.ensure_image(engine, CATALOG["minio"], "minio/minio:x")
    assert err.value.hint.startswith("no local build exists for minio")


def test_a_stale_local_service_image_is_refused(engine: FakeEngine) -> None:
    engine.answer("image", "inspect", stdout='{"dev.dockyard.recipe": "old"}\n')
    with pytest.raises(UserError, match="older recipe"):
        service_images.ensure_image(engine, CATALOG["redis"], "localhost/dockyard/redis:7")


def test_image_choice_in_auto_mode(engine: FakeEngine) -> None:
    engine.answer("image", "inspect", returncode=1)
    choice = service_images.choose_image(CATALOG["postgres"], "15", "auto",
                                         service_images.images_on(engine))
    assert (choice.image, choice.source) == ("postgres:15", "official image, to be pulled")


def test_doctor_on_a_healthy_engine(engine: FakeEngine) -> None:
    engine.answer("version", stdout="27.0.0\n").answer("compose", "version", stdout="2.30\n")
    checks = {c.name: c for c in doctor.run_checks(engine, "3.11")}
    assert checks["engine"].detail == "Docker Engine 27.0.0"
    assert checks["base image"].ok and checks["compose plugin"].ok
    assert checks["service images"].detail == "none built (optional)"


def test_doctor_without_an_engine(engine: FakeEngine) -> None:
    engine.answer("version", returncode=1, stderr="Cannot connect to the Docker daemon\n")
    checks = {c.name: c for c in doctor.run_checks(engine, "3.11")}
    assert not checks["engine"].ok and "base image" not in checks


def test_engine_errors_are_typed() -> None:
    engine = FakeEngine().answer("info", returncode=1, stderr="Cannot connect to the Docker "
                                                              "daemon at unix:///x\n")
    with pytest.raises(EngineUnavailable):
        engine.docker("info")
    engine.answer("inspect", returncode=2, stderr="a\nno such object\n")
    with pytest.raises(EngineError, match="docker inspect failed: no such object"):
        engine.docker("inspect", "x")


def test_ping_asks_only_when_the_probe_did_not_see_the_engine() -> None:
    fake = FakeEngine()
    silent = _cmd.Engine(runner=fake.fake, client=_cmd.Client("docker", "27", True))
    silent.ping()
    assert fake.commands == [("version", "--format", "{{.Server.Version}}")]


def test_the_process_runner_in_each_mode(tmp_path: Path) -> None:
    runner = ProcessRunner()
    captured = runner.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (captured.returncode, captured.stdout, captured.stderr) == (3, "out\n", "err\n")
    lines: list[str] = []
    streamed = runner.run(["sh", "-c", "echo a; echo b >&2"], on_line=lines.append)
    assert lines == ["a", "b"] and streamed.returncode == 0
    assert runner.run(["true"], foreground=True).returncode == 0
    piped = runner.run(["cat"], stdin_from=["printf", "x y"])
    assert piped.stdout == "x y"
    with pytest.raises(RunTimeout):
        runner.run(["sleep", "5"], timeout=0.2)


def test_client_probe_reads_versions() -> None:
    fake = FakeEngine().answer("version", stdout="27.1.0 27.1.0\n")
    found = _cmd._probe("/usr/bin/docker", fake.fake)
    assert (found.version, found.server, found.buildkit) == ("27.1.0", "27.1.0", True)
    old = _cmd._probe("/usr/bin/docker", FakeEngine().answer("version", stdout="20.10.5\n").fake)
    assert (old.buildkit, old.server) == (True, "")


@pytest.fixture
def server() -> Iterator[int]:
    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ready" else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def test_readiness_waits_for_the_answer(server: int) -> None:
    assert HttpReady(f"http://127.0.0.1:{server}/ready", timeout=5).wait() < 5


def test_readiness_gives_up_when_the_container_stops(server: int) -> None:
    engine = FakeEngine().answer("logs", stdout="Traceback: boom\n")
    ready = HttpReady(f"http://127.0.0.1:{server}/other", timeout=5, interval=0.01)
    with pytest.raises(NotReadyError) as err:
        ready.wait("c0ffee", engine)
    assert err.value.log_tail == "Traceback: boom"
    assert engine.commands[0][:2] == ("inspect", "--format")
