"""Readiness as a value: what to poll, and what to say when it never answers."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from dockyard.engine._cmd import Engine
from dockyard.engine.containers import is_running, logs_tail
from dockyard.errors import NotReadyError

# Loopback servers must never be reached through a proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class HttpReady:
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    expect_status: int = 200
    timeout: float = 90.0
    interval: float = 0.25

    def wait(self, container: str = "", engine: Engine | None = None) -> float:
        """Poll until the URL answers `expect_status`; returns the seconds it took. With a
        container (and its engine), give up as soon as it stops, with its last log lines."""
        watched = container if engine is not None else ""
        started = time.monotonic()
        deadline = started + self.timeout
        while time.monotonic() < deadline:
            if self._answers():
                return time.monotonic() - started
            if engine is not None and watched and not is_running(engine, watched):
                break
            time.sleep(self.interval)
        tail = logs_tail(engine, watched) if engine is not None and watched else ""
        raise NotReadyError(self.url, self.timeout, tail)

    def _answers(self) -> bool:
        request = urllib.request.Request(self.url, headers=dict(self.headers))
        try:
            with _DIRECT.open(request, timeout=2) as response:
                return bool(response.status == self.expect_status)
        except urllib.error.HTTPError as exc:
            return exc.code == self.expect_status
        except (OSError, ValueError):
            return False
