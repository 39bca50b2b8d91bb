"""Helpers shared by the benchmark scripts in bench/ (standard library only).

The scripts run with any Python 3.10+ (`bench/build`, `python3 bench/build` or
`.venv/bin/python bench/build`); dockyard itself always runs from the repo's virtualenv,
as `$DOCKYARD_PYTHON -m dockyard` (default: .venv/bin/python), so the interpreter running the
script does not need dockyard installed.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
EXAMPLES = REPO / "examples"
# The 20.10 client builds with BuildKit itself; a 23+ client without buildx cannot.
DOCKER = os.environ.get("DOCKYARD_DOCKER", "/usr/bin/docker")
PYTHON = os.environ.get("DOCKYARD_PYTHON", str(REPO / ".venv" / "bin" / "python"))


@dataclass(frozen=True)
class Timed:
    seconds: float
    returncode: int
    stdout: str
    stderr: str


def run_timed(argv: Sequence[str], *, env: dict[str, str] | None = None,
              cwd: Path | None = None, check: bool = True) -> Timed:
    """Run argv, timing it with a monotonic clock; on failure show its output and stop."""
    full_env = {**os.environ, "DOCKYARD_DOCKER": DOCKER, "DOCKER_BUILDKIT": "1", **(env or {})}
    started = time.monotonic()
    proc = subprocess.run(list(argv), capture_output=True, text=True, env=full_env, cwd=cwd,
                          check=False)
    timed = Timed(time.monotonic() - started, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        sys.exit(f"bench: command failed ({proc.returncode}): {' '.join(argv)}\n{tail}")
    return timed


def docker(*args: str, check: bool = True) -> Timed:
    return run_timed([DOCKER, *args], check=check)


def dockyard(*args: str, check: bool = True) -> Timed:
    return run_timed([PYTHON, "-m", "dockyard", *args], check=check)


def image_size(ref: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip())


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(
        ".dockyard", "outputs", "*.executed.ipynb", "__pycache__"))
    return target


def other_builds() -> list[str]:
    """Command lines of `docker build` / `docker buildx` / `docker compose build` processes on
    this machine that this script did not start: another session's build shares the CPU and
    the network, and can share (or lose to a prune) BuildKit's cache."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if (words and Path(words[0]).name == "docker" and {"build", "buildx"} & set(words[1:3])
                and not _is_ours(int(proc.name))):
            found.append(" ".join(words)[:160])
    return found


def _is_ours(pid: int) -> bool:
    """Is pid this process or one of its descendants?"""
    me = os.getpid()
    while pid > 1:
        if pid == me:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, after "pid (comm) state"
    return False


class BuildWatch:
    """While a measurement runs, note other docker builds and the peak 1-minute load average,
    so results taken on a shared machine say so."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.seen: set[str] = set()
        self.peak_load = os.getloadavg()[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.seen.update(other_builds())
            self.peak_load = max(self.peak_load, os.getloadavg()[0])
            self._stop.wait(self.interval)

    def __enter__(self) -> BuildWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def wait_until_idle(timeout: float) -> float:
    """Wait (up to timeout) until no other docker build runs; returns the seconds waited."""
    started = time.monotonic()
    announced = False
    while (busy := other_builds()) and time.monotonic() - started < timeout:
        if not announced:
            print(f"bench: waiting for {len(busy)} other docker build(s) to finish: {busy[0]}",
                  file=sys.stderr)
            announced = True
        time.sleep(2)
    return time.monotonic() - started


def machine_info() -> dict[str, object]:
    version = docker("version", "--format", "{{.Server.Version}}", check=False).stdout.strip()
    info = docker("info", "--format", "{{.Driver}} {{.CgroupVersion}}", check=False).stdout
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "docker_server": version,
        "docker_client": DOCKER,
        "storage_driver_cgroup": info.strip(),
    }


def write_json(path: Path, doc: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(path)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])
