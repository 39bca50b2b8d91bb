"""A tiny HTTP/1.1 keep-alive load client for loopback tests.

httpx spends more CPU per request than the server does; on a 2-core machine a load test
driven by it measures the client. This one writes pre-built request bytes on raw asyncio
streams and reads just the status line, the headers and Content-Length bytes.
Targets are 127.0.0.1 only; every loop is bounded by a deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def post(path: str, payload: Any, host: str = "127.0.0.1") -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Tally:
    """Statuses and latencies (seconds) of one kind of request."""

    statuses: Counter[int | str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def p(self, quantile: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """Send one request on a kept-alive connection; its status and body."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def client_loop(port: int, request: bytes, stop_at: float, tally: Tally) -> None:
    """One client: request after request on one connection until ``stop_at`` (monotonic)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(exchange(reader, writer, request), 10)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
                tally.statuses[type(exc).__name__] += 1
                return
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[status] += 1
    finally:
        writer.close()


async def run_clients(port: int, groups: list[tuple[int, bytes, Tally]], seconds: float) -> None:
    """``count`` clients per (count, request, tally) group, all for ``seconds``."""
    stop_at = time.monotonic() + seconds
    await asyncio.gather(
        *[
            client_loop(port, request, stop_at, tally)
            for count, request, tally in groups
            for _ in range(count)
        ]
    )
