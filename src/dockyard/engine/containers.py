"""Containers: run in the foreground, start in the background, find by label, stop."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dockyard.engine._cmd import Engine
from dockyard.render import docker_run
from dockyard.workload import LABEL_PROJECT, LABEL_ROLE, Workload


def _argv(w: Workload, *, detach: bool, interactive: bool = False) -> list[str]:
    tty = interactive and sys.stdin.isatty() and sys.stdout.isatty()
    return docker_run.run_argv(w, detach=detach, tty=tty)


def run_foreground(engine: Engine, w: Workload, secrets: Mapping[str, str] | None = None) -> int:
    """Run attached, passing the terminal through; returns the command's own exit code."""
    return engine.foreground(*_argv(w, detach=False, interactive=True),
                             env=docker_run.child_env(w, secrets or {}))


def run_streaming(engine: Engine, w: Workload, on_line: Callable[[str], None],
                  secrets: Mapping[str, str] | None = None) -> int:
    """Run attached without a terminal, handing each line of output (stdout and stderr
    merged, in order) to `on_line` as it comes; returns the command's own exit code."""
    return engine.docker(*_argv(w, detach=False), on_line=on_line, check=False,
                  env=docker_run.child_env(w, secrets or {})).returncode


def start(engine: Engine, w: Workload, secrets: Mapping[str, str] | None = None) -> str:
    """Start detached; returns the container id. `secrets` holds the values of the secrets
    the workload names (they reach the container through the client's environment)."""
    return engine.docker(*_argv(w, detach=True), env=docker_run.child_env(w, secrets or {})
                  ).stdout.strip()


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    image: str
    status: str
    ports: str
    project: str
    role: str


def list_containers(engine: Engine, project: str = "",
                    all_states: bool = False) -> list[ContainerInfo]:
    label = f"{LABEL_PROJECT}={project}" if project else LABEL_PROJECT
    argv = ["ps", "--filter", f"label={label}", "--format", "{{json .}}", "--no-trunc"]
    if all_states:
        argv.append("-a")
    out = engine.docker(*argv).stdout
    return [_info(json.loads(line)) for line in out.splitlines() if line.strip()]


def _info(row: dict[str, str]) -> ContainerInfo:
    labels = dict(kv.split("=", 1) for kv in row.get("Labels", "").split(",") if "=" in kv)
    return ContainerInfo(row["ID"][:12], row["Names"], row["Image"], row["Status"],
                         row.get("Ports", ""), labels.get(LABEL_PROJECT, ""),
                         labels.get(LABEL_ROLE, ""))


def stop(engine: Engine, container: str, timeout: int | None = None) -> None:
    """Stop (SIGTERM, then SIGKILL after `timeout` or the container's own stop timeout)."""
    engine.docker("stop", *(("-t", str(timeout)) if timeout is not None else ()), container,
           check=False)
    engine.docker("rm", "-f", container, check=False)


def logs_tail(engine: Engine, container: str, lines: int = 30) -> str:
    result = engine.docker("logs", "--tail", str(lines), container, check=False)
    return (result.stdout + result.stderr).strip()


def is_running(engine: Engine, container: str) -> bool:
    result = engine.docker("inspect", "--format", "{{.State.Running}}", container, check=False)
    return result.stdout.strip() == "true"


def follow_logs(engine: Engine, container: str) -> int:
    """The container's logs on the terminal until it stops or Ctrl-C."""
    return engine.foreground("logs", "-f", container)
