"""One output object for every command: human lines on stderr/stdout, or one JSON document."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Output:
    json_mode: bool = False
    verbose: bool = False
    started: float = field(default_factory=time.monotonic)

    def info(self, message: str) -> None:
        """Human-readable result lines (stdout), suppressed in --json mode."""
        if not self.json_mode:
            print(message, flush=True)

    def note(self, message: str) -> None:
        """Progress and notes: stderr, so stdout stays clean for pipes and --json."""
        print(message, file=sys.stderr, flush=True)

    def warn(self, message: str, hint: str = "") -> None:
        self.note(f"warning: {message}" + (f"\n  hint: {hint}" if hint else ""))

    def emit(self, document: dict[str, Any]) -> None:
        if self.json_mode:
            print(json.dumps(document, indent=2, sort_keys=True, default=str), flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def report_undeclared(out: Output, project: Any) -> None:
    """Undeclared imports: which are installed, and which are only reported (unknown names)."""
    for imp in project.detection.undeclared_imports:
        if project.spec.installs(imp.module):
            out.note(f"undeclared import {imp.module!r} -> installing {imp.distribution}")
        else:
            out.warn(f"undeclared import {imp.module!r} ({', '.join(imp.files[:3])}) is not "
                     "installed: dockyard's import map does not know it, and a PyPI package "
                     "of that name may not be the one you mean",
                     hint=f"declare it (e.g. in requirements.txt), or set [dependencies] "
                          f"install_undeclared = true to install {imp.distribution} from the "
                          "index")


def follow_or_detach(out: Output, container: str, detach: bool,
                     stop_timeout: int | None) -> None:
    """Leave a started container running, or show its logs until Ctrl-C, then stop it."""
    import subprocess

    from dockyard.engine import containers as ctr
    from dockyard.engine._cmd import docker_client

    if detach:
        out.note("running in the background; `dockyard stop` stops it")
        return
    out.note("Ctrl-C stops it")
    try:
        subprocess.run([docker_client().path, "logs", "-f", container], check=False)
    except KeyboardInterrupt:
        pass
    finally:
        ctr.stop(container, timeout=stop_timeout)
        out.note("stopped")


class BuildProgress:
    """Condenses BuildKit's plain log into one line per step: `[3/9] RUN … (cached)`."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.verbose = out.verbose
        self.tail: list[str] = []
        self.seen: set[str] = set()

    def __call__(self, line: str) -> None:
        self.tail = [*self.tail[-40:], line]
        if self.verbose:
            self.out.note(line)
            return
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0].startswith("#") and parts[1].startswith("[") \
                and "internal]" not in parts[1] and parts[0] not in self.seen:
            self.seen.add(parts[0])  # BuildKit repeats a step's header when it resumes output
            self.out.note(f"  {parts[1]} {' '.join(parts[2].split())[:90]}")
        elif line.endswith(" CACHED"):
            self.out.note("    cached")
