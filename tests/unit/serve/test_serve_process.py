"""The real server process on a loopback port: overload, graceful drain, startup failures.

Each test starts ``python -m dockyard_serve`` as the image does (package directory on
PYTHONPATH, configuration in DOCKYARD_* variables) on 127.0.0.1 with port 0, and reads the
chosen port from its log. All traffic stays on the loopback interface and every loop is
bounded in time.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import SERVE_DIR

pytestmark = pytest.mark.anyio

SLOW_PREDICTOR = """
import time


class Slow:
    batched = True

    def predict(self, x: list[float]) -> list[float]:
        time.sleep(0.6)
        return x
"""


class Server:
    """A server process; ``url`` once it listens, its stderr collected in ``log``."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        full_env = {
            **os.environ,
            "PYTHONPATH": str(SERVE_DIR),
            "DOCKYARD_HOST": "127.0.0.1",
            "DOCKYARD_PORT": "0",
            **env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard_serve"],
            env=full_env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self._port: int | None = None
        self._listening = threading.Event()
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # keep draining: a full pipe would block the server
            self.log.append(line)
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if match:
                self._port = int(match.group(1))
                self._listening.set()
        self._listening.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        assert self._listening.wait(timeout), "server did not start listening"
        assert self._port is not None, "".join(self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, "".join(self.log)
            time.sleep(0.1)
        raise AssertionError("server not ready:\n" + "".join(self.log))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)


def wait_for_inflight(server: Server, count: int, timeout: float = 15.0) -> None:
    """Until ``count`` requests are inside the server (the metrics span all workers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = httpx.get(server.url + "/metrics", timeout=5).text
        # This scrape is itself in flight: count it out.
        inflight = int(float(re.search(r"^dockyard_inflight_requests (\S+)", metrics, re.M)[1])) - 1
        if inflight >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"never saw {count} requests in flight")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    servers: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(env, tmp_path)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(timeout=10)


async def test_64_clients_get_only_200_or_503_with_retry_after(serve, rf_path):
    """Two workers, a small queue: overload is refused at once, never a hang or a 500; the
    metrics, whichever worker answers the scrape, count every worker's requests."""
    server = serve(
        DOCKYARD_MODEL=str(rf_path),
        DOCKYARD_WORKERS="2",
        DOCKYARD_QUEUE_LIMIT="16",
        DOCKYARD_MAX_BATCH="8",
    )
    server.wait_ready()
    statuses: Counter[int] = Counter()
    missing_retry_after = 0
    body = {"inputs": [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]]}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=10.0) as client:
        stop_at = time.monotonic() + 2.5

        async def user() -> None:
            nonlocal missing_retry_after
            while time.monotonic() < stop_at:
                response = await client.post("/predict", json=body)
                statuses[response.status_code] += 1
                if response.status_code == 503 and "retry-after" not in response.headers:
                    missing_retry_after += 1

        await asyncio.gather(*[user() for _ in range(64)])  # a hang would raise ReadTimeout
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] > 100 and statuses[503] > 0, statuses
    assert missing_retry_after == 0
    metrics = httpx.get(server.url + "/metrics").text
    assert f'dockyard_requests_total{{route="/predict",code="200"}} {statuses[200]}' in metrics
    assert f'dockyard_requests_total{{route="/predict",code="503"}} {statuses[503]}' in metrics
    assert httpx.get(server.url + "/info").json()["server"]["workers"] == 2
    assert server.stop() == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_drains_in_flight_requests(serve, predictor_module, tmp_path, workers):
    predictor_module("slow_drain", SLOW_PREDICTOR)
    server = serve(DOCKYARD_PREDICTOR="slow_drain:Slow", DOCKYARD_WORKERS=workers)
    server.wait_ready()
    results: list[int | str] = []
    client = httpx.Client(base_url=server.url, timeout=15, limits=httpx.Limits(max_connections=20))

    def call() -> None:
        try:
            results.append(client.post("/predict", json={"inputs": [[1.0]]}).status_code)
        except httpx.HTTPError as exc:
            results.append(type(exc).__name__)

    clients = [threading.Thread(target=call) for _ in range(12)]
    for thread in clients:
        thread.start()
    wait_for_inflight(server, 12)  # every request is now queued or being predicted
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(httpx.TransportError):  # no longer accepting
        httpx.get(server.url + "/health", timeout=2)
    for thread in clients:
        thread.join(timeout=15)
    client.close()
    assert results == [200] * 12
    assert server.proc.wait(timeout=15) == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_model_that_cannot_load_stops_the_server_with_code_3(serve, tmp_path, workers):
    server = serve(DOCKYARD_MODEL=str(tmp_path / "missing.joblib"), DOCKYARD_WORKERS=workers)
    assert server.proc.wait(timeout=30) == 3
    time.sleep(0.1)
    assert "model file not found" in "".join(server.log)


def test_bad_configuration_exits_2_with_the_variable_named(serve):
    server = serve(DOCKYARD_MODEL="m.joblib", DOCKYARD_MAX_BATCH="many")
    assert server.proc.wait(timeout=10) == 2
    time.sleep(0.1)
    assert "DOCKYARD_MAX_BATCH must be an integer" in "".join(server.log)
