"""Prometheus metrics, shared by all worker processes through one anonymous shared mapping.

A scrape lands on whichever worker accepted the connection, yet must report the whole
server. The supervisor maps a small shared array before forking; each worker writes only its
own slot (so no locks: one writer per cell, and only the event-loop thread writes) and a
scrape sums all slots. This costs a few float stores per request — no files, no
prometheus_client, nothing written to the read-only root filesystem.
"""

from __future__ import annotations

import bisect
import ctypes
import mmap
from collections.abc import Sequence

Cells = ctypes.Array[ctypes.c_double]

ROUTES = ("/predict", "/health", "/ready", "/metrics", "/info", "/openapi.json", "/docs", "other")
CODES = (200, 400, 401, 404, 405, 408, 413, 415, 422, 500, 503, 504, 0)  # 0: any other code
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

_ROUTE_INDEX = {r: i for i, r in enumerate(ROUTES)}
_CODE_INDEX = {c: i for i, c in enumerate(CODES)}


class _Layout:
    """Offsets of each metric inside one worker's slot of float64 cells."""

    requests = 0
    latency = requests + len(ROUTES) * len(CODES)  # buckets (+Inf last), then sum, count
    batch = latency + len(LATENCY_BUCKETS) + 3
    predict = batch + len(BATCH_BUCKETS) + 3
    queue_depth = predict + len(LATENCY_BUCKETS) + 3
    inflight = queue_depth + 1
    rows = inflight + 1
    ready = rows + 1  # 1.0 once this worker's model is loaded
    size = ready + 1


class Metrics:
    """One worker's view of the shared metrics; ``slot`` picks the cells it writes."""

    def __init__(self, shared: SharedRegion, slot: int) -> None:
        self._region = shared
        self._cells = shared.slot(slot)
        self._cells[_Layout.queue_depth] = 0.0  # gauges restart with the worker
        self._cells[_Layout.inflight] = 0.0
        self._cells[_Layout.ready] = 0.0

    def set_ready(self) -> None:
        self._cells[_Layout.ready] = 1.0

    def all_ready(self) -> bool:
        """Every worker has its model: what /ready reports, whichever worker answers."""
        return all(self._region.slot(s)[_Layout.ready] == 1.0 for s in range(self._region.slots))

    def count_request(self, route: str, code: int, seconds: float | None) -> None:
        r = _ROUTE_INDEX.get(route, len(ROUTES) - 1)
        c = _CODE_INDEX.get(code, len(CODES) - 1)
        self._cells[_Layout.requests + r * len(CODES) + c] += 1.0
        if seconds is not None:
            self._observe(_Layout.latency, LATENCY_BUCKETS, seconds)

    def observe_batch(self, rows: int, requests: int, seconds: float) -> None:
        self._observe(_Layout.batch, BATCH_BUCKETS, rows)
        self._observe(_Layout.predict, LATENCY_BUCKETS, seconds)
        self._cells[_Layout.rows] += rows

    def set_queue_depth(self, depth: int) -> None:
        self._cells[_Layout.queue_depth] = float(depth)

    def add_inflight(self, delta: int) -> None:
        self._cells[_Layout.inflight] += delta

    def _observe(self, offset: int, bounds: Sequence[float], value: float) -> None:
        cells = self._cells
        cells[offset + bisect.bisect_left(bounds, value)] += 1.0
        cells[offset + len(bounds) + 1] += value
        cells[offset + len(bounds) + 2] += 1.0

    def render(self) -> str:
        """Prometheus text exposition format (version 0.0.4) over all workers."""
        return render(self._region.totals())


class SharedRegion:
    """``slots`` arrays of float64 cells in memory shared with forked children."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        # Anonymous MAP_SHARED memory survives fork() and needs no file on disk.
        self._map = mmap.mmap(-1, max(1, slots) * _Layout.size * 8)
        slot_type = ctypes.c_double * _Layout.size
        self._slots: list[Cells] = [
            slot_type.from_buffer(self._map, i * ctypes.sizeof(slot_type)) for i in range(slots)
        ]

    def slot(self, index: int) -> Cells:
        return self._slots[index]

    def totals(self) -> list[float]:
        sums = [0.0] * _Layout.size
        for cells in self._slots:
            for i, value in enumerate(cells):
                sums[i] += value
        return sums


def render(cells: Sequence[float]) -> str:
    lines: list[str] = []
    add = lines.append
    add("# HELP dockyard_requests_total HTTP requests answered, by route and status code.")
    add("# TYPE dockyard_requests_total counter")
    for r, route in enumerate(ROUTES):
        for c, code in enumerate(CODES):
            value = cells[_Layout.requests + r * len(CODES) + c]
            if value:
                label = str(code) if code else "other"
                add(f'dockyard_requests_total{{route="{route}",code="{label}"}} {value:.0f}')
    _histogram(
        lines,
        "dockyard_request_duration_seconds",
        "Latency of /predict requests, queueing included.",
        cells,
        _Layout.latency,
        LATENCY_BUCKETS,
    )
    _histogram(
        lines,
        "dockyard_batch_size",
        "Rows per predict call (micro-batch size).",
        cells,
        _Layout.batch,
        BATCH_BUCKETS,
    )
    _histogram(
        lines,
        "dockyard_predict_duration_seconds",
        "Time of one batched predict call.",
        cells,
        _Layout.predict,
        LATENCY_BUCKETS,
    )
    _gauge(
        lines,
        "dockyard_queue_depth",
        "Requests waiting for the predict thread.",
        cells[_Layout.queue_depth],
    )
    _gauge(lines, "dockyard_inflight_requests", "Requests being handled.", cells[_Layout.inflight])
    add("# HELP dockyard_predicted_rows_total Rows predicted.")
    add("# TYPE dockyard_predicted_rows_total counter")
    add(f"dockyard_predicted_rows_total {cells[_Layout.rows]:.0f}")
    return "\n".join(lines) + "\n"


def _histogram(
    lines: list[str],
    name: str,
    help_text: str,
    cells: Sequence[float],
    offset: int,
    bounds: Sequence[float],
) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} histogram")
    cumulative = 0.0
    for i, bound in enumerate((*bounds, float("inf"))):
        cumulative += cells[offset + i]
        le = "+Inf" if bound == float("inf") else repr(float(bound))
        lines.append(f'{name}_bucket{{le="{le}"}} {cumulative:.0f}')
    lines.append(f"{name}_sum {cells[offset + len(bounds) + 1]!r}")
    lines.append(f"{name}_count {cells[offset + len(bounds) + 2]:.0f}")


def _gauge(lines: list[str], name: str, help_text: str, value: float) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} gauge")
    lines.append(f"{name} {value:.0f}")
