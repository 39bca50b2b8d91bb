"""One output object for every command: human lines on stderr/stdout, or one JSON document."""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dockyard.engine.images import short_step

if TYPE_CHECKING:
    from dockyard.app.context import Project
    from dockyard.engine import Engine


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


def follow_or_detach(out: Output, engine: Engine, container: str, detach: bool,
                     stop_timeout: int | None) -> None:
    """Leave a started container running, or show its logs until Ctrl-C, then stop it."""
    from dockyard.app.running import follow_then_stop

    if detach:
        out.note("running in the background; `dockyard stop` stops it")
        return
    out.note("Ctrl-C stops it")
    follow_then_stop(engine, container, stop_timeout)
    out.note("stopped")


def up_to_date_image(out: Output, engine: Engine, project: Project, no_build: bool) -> str:
    """The project's image for run/lab: rebuilt through the cache first unless `no_build`,
    naming only the steps that really ran."""
    from dockyard.app.building import current_image

    progress = BuildProgress(out, quiet=True)
    image, outcome = current_image(engine, project, build=not no_build, on_line=progress)
    if outcome is not None:
        progress.report(outcome.result.seconds)
    return image


class BuildProgress:
    """Condenses BuildKit's plain log into one line per step: `[3/9] RUN … (cached)`.

    `quiet` (the builds that run, lab and serve make on their own) names only the steps that
    really run: a step's header is held until BuildKit shows work for it, and dropped when it
    reports the step CACHED, so an up-to-date image costs one line, not a screenful."""

    def __init__(self, out: Output, quiet: bool = False) -> None:
        self.out = out
        self.verbose = out.verbose
        self.quiet = quiet
        self.tail: list[str] = []
        self.seen: set[str] = set()
        self.held: dict[str, str] = {}
        self.ran = 0

    def __call__(self, line: str) -> None:
        self.tail = [*self.tail[-40:], line]
        if self.verbose:
            self.out.note(line)
            return
        head = _HEADER.match(line)
        step = line.split(" ", 1)[0] if line.startswith("#") else ""
        if head and "internal" not in head.group(2) and step not in self.seen:
            self.seen.add(step)  # BuildKit repeats a step's header when it resumes output
            header = f"  [{head.group(2)}] {short_step(head.group(3), 90)}"
            if self.quiet and head.group(3).startswith("FROM "):
                return  # resolving the base is not work worth a line
            if self.quiet:
                self.held[step] = header
            else:
                self.out.note(header)
        elif line.endswith(" CACHED"):
            if not self.quiet:
                self.out.note("    cached")
            self.held.pop(step, None)
        elif step in self.held and _WORK.match(line.split(" ", 2)[1] if " " in line else ""):
            self.ran += 1
            self.out.note(self.held.pop(step))

    def report(self, seconds: float) -> None:
        """One line after a quiet build: whether anything ran, and how long it took."""
        self.out.note(f"image {'rebuilt' if self.ran else 'up to date'} ({seconds:.1f}s)")


_HEADER = re.compile(r"^#(\d+) \[(.+?)\] (.*)$")
_WORK = re.compile(r"^(\d+\.\d+|DONE|ERROR:?)$")
