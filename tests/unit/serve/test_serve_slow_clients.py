"""Issue 8, item 7 (and the 413 of item 10): clients that are slow, stalled or oversized.

Real server processes on 127.0.0.1 with short deadlines; raw sockets play the bad clients.
Before: partial headers and a Content-Length without a body were never timed out, a stalled
body made the batcher wait for it on every batch, headers had no size limit, and a 413 for
an oversized Content-Length often reached the client as a connection reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from loadgen import Tally, post, run_clients
from test_serve_process import Server

ROW = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
HEAD = b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


@pytest.fixture
def server(tmp_path, rf_path) -> Iterator[Server]:
    started = Server(
        {
            "DOCKYARD_MODEL": str(rf_path),
            "DOCKYARD_WORKERS": "1",
            "DOCKYARD_HEADER_TIMEOUT_S": "1",
            "DOCKYARD_BODY_TIMEOUT_S": "1",
            "DOCKYARD_MAX_BODY_BYTES": str(2**20),
        },
        tmp_path,
    )
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def port_of(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port_of(server)), timeout=10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (bounded by the socket timeout)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def answer_within(sock: socket.socket) -> tuple[bytes, float]:
    started = time.monotonic()
    data = read_all(sock)
    return data, time.monotonic() - started


def test_stalled_body_gets_408_within_the_deadline(server):
    sock = connect(server)
    sock.sendall(HEAD + b"Content-Length: 100\r\n\r\n" + b'{"inputs": [')
    data, waited = answer_within(sock)
    assert data.startswith(b"HTTP/1.1 408 "), data
    assert b"request body took too long" in data
    assert waited < 2.5
    metrics = httpx.get(server.url + "/metrics").text
    assert 'dockyard_requests_total{route="/predict",code="408"} 1' in metrics


def test_content_length_without_any_body_gets_408(server):
    sock = connect(server)
    sock.sendall(HEAD + b"Content-Length: 50\r\n\r\n")
    data, waited = answer_within(sock)
    assert data.startswith(b"HTTP/1.1 408 ") and waited < 2.5


def test_partial_headers_get_408_and_idle_connections_are_closed(server):
    partial, idle = connect(server), connect(server)
    partial.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    data, waited = answer_within(partial)
    assert data.startswith(b"HTTP/1.1 408 ") and waited < 2.5
    data, waited = answer_within(idle)
    assert data == b"" and waited < 2.5  # nothing was asked: closed without an answer


def test_dribbling_headers_do_not_extend_the_deadline(server):
    """One byte every 100 ms: the head's deadline runs from its first byte, not the last."""
    sock = connect(server)
    answered = threading.Event()

    def dribble() -> None:
        with contextlib.suppress(OSError):
            for byte in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 50:
                if answered.is_set():
                    return
                sock.sendall(bytes([byte]))
                time.sleep(0.1)

    sender = threading.Thread(target=dribble)
    sender.start()
    data, waited = answer_within(sock)
    answered.set()
    sender.join(timeout=10)
    assert data.startswith(b"HTTP/1.1 408 ") and waited < 2.5


def test_huge_header_is_431_and_the_answer_arrives(server):
    sock = connect(server)
    with contextlib.suppress(OSError):  # the server may stop reading once it has answered
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (8 * 2**20))
    data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 431 "), data[:100]
    assert httpx.get(server.url + "/health").status_code == 200


def test_oversized_content_length_gets_its_413_every_time(server):
    """http.client (urllib, requests, `dockyard predict`) sends the whole body before it
    reads anything, and gives up on a write error: the answer must survive that."""
    body = b"[" + b"0," * (8 * 2**20) + b"0]"
    outcomes: list[int | str] = []
    for _ in range(5):
        conn = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=10)
        try:
            conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
            outcomes.append(conn.getresponse().status)
        except OSError as exc:
            outcomes.append(type(exc).__name__)
        finally:
            conn.close()
    assert outcomes == [413] * 5


def test_a_stalled_request_does_not_slow_the_others(server):
    """Normal clients' median latency with 8 stalled bodies open is that of without: the
    batcher only ever waits for queued requests."""
    port = port_of(server)
    request = post("/predict", {"inputs": [ROW]})

    def median_latency() -> float:
        tally = Tally()
        asyncio.run(run_clients(port, [(8, request, tally)], seconds=0.8))
        assert set(tally.statuses) == {200}, tally.statuses
        return tally.p(0.5)

    def with_stalled_bodies() -> float:
        stalled = [connect(server) for _ in range(8)]
        for sock in stalled:
            sock.sendall(HEAD + b"Content-Length: 100\r\n\r\n")
        try:
            return median_latency()  # 0.8 s: within the 1 s body deadline
        finally:
            for sock in stalled:
                sock.close()

    clean_runs, loaded_runs = [], []
    for _ in range(3):  # alternating, so that a busy moment of the machine hits both
        clean_runs.append(median_latency())
        loaded_runs.append(with_stalled_bodies())
    clean, loaded = min(clean_runs), min(loaded_runs)
    print(f"p50 clean {clean * 1000:.1f} ms, with stalled bodies {loaded * 1000:.1f} ms")
    assert loaded < 1.5 * clean + 0.003


def test_connections_beyond_the_limit_get_503(tmp_path, rf_path):
    """uvicorn's limit_concurrency comes from the queue size (at least 256)."""
    env = {"DOCKYARD_MODEL": str(rf_path), "DOCKYARD_WORKERS": "1", "DOCKYARD_QUEUE_LIMIT": "64"}
    server = Server(env, tmp_path)
    held: list[socket.socket] = []
    try:
        server.wait_ready()
        held = [connect(server) for _ in range(260)]
        time.sleep(0.3)  # accepted
        assert httpx.get(server.url + "/health").status_code == 503
        for sock in held:
            sock.close()
        time.sleep(0.3)
        assert httpx.get(server.url + "/health").status_code == 200
    finally:
        for sock in held:
            sock.close()
        server.stop()
