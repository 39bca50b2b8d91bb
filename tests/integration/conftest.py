"""Fixtures on the real Docker engine. Images are built once per session and shared.

Locally these tests skip, saying why, when no engine answers; with CI=true a missing engine
fails the run instead, because CI must never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_example, run_dockyard

DOCKER = os.environ.get("DOCKYARD_DOCKER", "/usr/bin/docker")
# One tag per test session, so two sessions on one engine never move each other's image.
EXAMPLE_TAG = f"dockyard-test/churn:s{os.getpid()}"
HOST_CA = os.environ.get("DOCKYARD_TEST_CA", "/etc/ssl/certs/ca-certificates.crt")
CA_MARKER = "dockyard-test-ca-marker-5f0c2b7e"


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="session")
def engine() -> None:
    probe = docker("info", "--format", "{{.ServerVersion}}", check=False)
    if probe.returncode != 0:
        reason = f"no Docker engine answers ({probe.stderr.strip()[:120]})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the engine: {reason}")
        pytest.skip(reason)


@dataclass(frozen=True)
class BuiltProject:
    root: Path
    image: str
    build_json: dict[str, object]


def _cleanup_label(project_root: Path) -> None:
    """Remove every container a test project started, found by its dockyard label."""
    out = docker("ps", "-aq", "--filter", "label=dev.dockyard.project", check=False).stdout
    for cid in out.split():
        inspect = docker("inspect", "--format", "{{.Mounts}}", cid, check=False).stdout
        if str(project_root) in inspect:
            docker("rm", "-f", cid, check=False)


@pytest.fixture(scope="session")
def example(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltProject]:
    """The bundled example, with a secret .env added, built once for the whole session."""
    import json

    tmp = tmp_path_factory.mktemp("example")
    root = copy_example("churn", tmp)
    (root / ".env").write_text("SECRET_TOKEN=do-not-ship-me\n")
    # The host's CA bundle plus a marker line (PEM readers skip text between certificates), so
    # a test can prove the bundle reached the build yet entered no layer. --no-cache makes sure
    # the layers that mounted it are built in this session, with this bundle.
    ca = tmp / "ca-bundle.pem"
    ca.write_text(Path(HOST_CA).read_text() + f"\n{CA_MARKER}\n")
    ran = run_dockyard("-C", str(root), "build", "--tag", EXAMPLE_TAG, "--json", "--no-cache",
                       "--ca-cert", str(ca))
    assert ran.code == 0, ran.stderr
    yield BuiltProject(root, EXAMPLE_TAG, json.loads(ran.stdout))
    _cleanup_label(root)
    docker("rmi", EXAMPLE_TAG, check=False)


# A real registry: Debian's `docker-registry` (the CNCF distribution registry) on a free
# loopback port, its storage in a tmp dir. Used by `dockyard push` (with htpasswd auth) and by
# the Helm chart's OCI push (no auth). The engine allows plain HTTP to 127.0.0.0/8 registries.
REGISTRY_BINARY = "/usr/bin/docker-registry"


def need_tools(*tools: str) -> None:
    """Skip locally, fail in CI, when a tool a test needs is not installed."""
    for tool in tools:
        if not shutil.which(tool):
            reason = f"{tool} is not installed (apt-get install docker-registry apache2-utils)"
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI needs the registry: {reason}")
            pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _registry_config(root: Path, port: int, htpasswd: Path | None) -> str:
    # Without http.secret the registry logs a warning and makes one up: fine for one instance.
    auth = (f"auth:\n  htpasswd:\n    realm: dockyard-test\n    path: {htpasswd}\n"
            if htpasswd else "")
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth
    )


def _wait_for_registry(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float,
                       auth: bool) -> None:
    """Ready means /v2/ answers: 401 when it enforces auth, 200 when it has none."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"docker-registry exited with {proc.returncode}:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)  # loopback only
            if auth:
                pytest.fail(f"{url} answered without credentials: auth is not enforced")
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 401 and auth:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {timeout:.0f}s:\n{log.read_text()}")


@contextmanager
def running_registry(root: Path, htpasswd: Path | None = None) -> Iterator[str]:
    """A registry serving from ROOT until the block ends; yields its `127.0.0.1:PORT`."""
    port = free_port()
    (root / "config.yml").write_text(_registry_config(root, port, htpasswd))
    log = root / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([REGISTRY_BINARY, "serve", str(root / "config.yml")],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_registry(proc, f"http://127.0.0.1:{port}/v2/", log, 30, htpasswd is not None)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
