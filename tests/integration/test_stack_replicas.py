"""`[deploy] replicas` tried on one machine: the stack's api runs as N Compose replicas.

A stack with only `[services.api]` (a predictor with no dependency, so the serving image is
small) and `replicas = 3`: a client on the stack network reaches three distinct containers
through the one service name, a replica whose server process crashes (SIGKILL from the host,
as the kernel's OOM killer or a segfault would end it) is restarted by its restart policy, and
requests keep succeeding meanwhile.

Why a process kill rather than `docker kill`: the engine records `docker kill`/`docker stop`
as a manual stop, and `restart: unless-stopped` then leaves the container down by design.
A crash is what the restart policy is for.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import docker
from tests.integration.test_stack_support import compose, stack_up

REPLICAS = 3
PREDICTOR = '''\
class Echo:
    """Answers with what it was given: no dependency, no model file."""

    def predict(self, text: str) -> str:
        return text
'''
# Run in a throwaway container on the stack network: each request opens a new connection,
# and the embedded DNS answers `api` with every replica's address.
CLIENT = '''\
import json, sys, urllib.request
seen, failures = set(), 0
for _ in range(int(sys.argv[1])):
    try:
        with urllib.request.urlopen("http://api:8080/info", timeout=5) as r:
            seen.add(json.load(r)["server"]["hostname"])
    except OSError:
        failures += 1
print(json.dumps({"hosts": sorted(seen), "failures": failures}))
'''


@dataclass(frozen=True)
class Replicated:
    root: Path
    name: str  # the Compose project
    port: int  # the first host port of the range


def _free_range(count: int) -> int:
    """A first port P with P..P+count-1 all free on loopback."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            first = int(sock.getsockname()[1])
        if first + count < 65535 and all(_free(first + i) for i in range(1, count)):
            return first
    pytest.fail("no free range of loopback ports")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def replicated(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    root = tmp_path_factory.mktemp("replicas") / "scaleout"
    root.mkdir()
    port = _free_range(REPLICAS)
    (root / "echo_predictor.py").write_text(PREDICTOR)
    (root / "requirements.txt").write_text("")
    (root / "dockyard.toml").write_text(
        f'[serve]\npredictor = "echo_predictor:Echo"\n\n[services.api]\nport = {port}\n\n'
        f"[deploy]\nreplicas = {REPLICAS}\n")
    with stack_up(root) as (name, _):
        yield Replicated(root, name, port)


def _replicas(name: str) -> list[str]:
    return compose(name, "ps", "-q", "--status", "running", "api").stdout.split()


def _ask(stack: Replicated, requests: int) -> dict[str, object]:
    image = docker("inspect", "--format", "{{.Config.Image}}", _replicas(stack.name)[0])
    ran = docker("run", "--rm", "--network", f"{stack.name}_backend", "--entrypoint", "python",
                 image.stdout.strip(), "-c", CLIENT, str(requests), check=False)
    assert ran.returncode == 0, ran.stderr[-2000:]
    doc: dict[str, object] = json.loads(ran.stdout.strip().splitlines()[-1])
    return doc


def test_compose_file_runs_three_replicas_on_a_port_range(replicated: Replicated) -> None:
    text = (replicated.root / "compose.yaml").read_text()
    p = replicated.port
    assert f"127.0.0.1:{p}-{p + REPLICAS - 1}:8080" in text and "replicas: 3" in text
    assert "container_name" not in text


def test_every_replica_answers_through_the_service_name(replicated: Replicated) -> None:
    assert len(_replicas(replicated.name)) == REPLICAS
    answered = _ask(replicated, 60)
    hostnames = {docker("inspect", "--format", "{{.Config.Hostname}}", c).stdout.strip()
                 for c in _replicas(replicated.name)}
    assert answered == {"hosts": sorted(hostnames), "failures": 0}


def test_a_crashed_replica_is_restarted_and_requests_keep_succeeding(
        replicated: Replicated) -> None:
    victim = _replicas(replicated.name)[0]
    before = docker("inspect", "--format", "{{.RestartCount}}", victim).stdout.strip()
    pid = int(docker("inspect", "--format", "{{.State.Pid}}", victim).stdout)
    os.kill(pid, signal.SIGKILL)  # the container's main process dies, as in a crash
    during = _ask(replicated, 20)
    assert during["failures"] == 0, during
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        restarted = docker("inspect", "--format", "{{.RestartCount}} {{.State.Running}}",
                           victim).stdout.split()
        if restarted != [before, "true"] and restarted[1] == "true" \
                and len(_replicas(replicated.name)) == REPLICAS:
            break
        time.sleep(1)
    else:
        pytest.fail(f"{victim[:12]} was not restarted within 30 s: {restarted}")
    assert int(restarted[0]) > int(before)
