"""Containers: run in the foreground, start in the background, find by label, stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dockyard.engine._cmd import docker, docker_client
from dockyard.render import docker_run
from dockyard.workload import LABEL_PROJECT, LABEL_ROLE, Workload


def _argv(w: Workload, *, detach: bool, interactive: bool = False) -> list[str]:
    tty = interactive and sys.stdin.isatty() and sys.stdout.isatty()
    return docker_run.run_argv(w, detach=detach, tty=tty)


def run_foreground(w: Workload, secrets: Mapping[str, str] | None = None) -> int:
    """Run attached, passing the terminal through; returns the command's own exit code."""
    argv = [docker_client().path, *_argv(w, detach=False, interactive=True)]
    env = {**os.environ, **docker_run.child_env(w, secrets or {})}
    return subprocess.run(argv, check=False, env=env).returncode


def run_streaming(w: Workload, on_line: Callable[[str], None],
                  secrets: Mapping[str, str] | None = None) -> int:
    """Run attached without a terminal, handing each line of output (stdout and stderr
    merged, in order) to `on_line` as it comes; returns the command's own exit code."""
    return docker(*_argv(w, detach=False), on_line=on_line, check=False,
                  env=docker_run.child_env(w, secrets or {})).returncode


def start(w: Workload, secrets: Mapping[str, str] | None = None) -> str:
    """Start detached; returns the container id. `secrets` holds the values of the secrets
    the workload names (they reach the container through the client's environment)."""
    return docker(*_argv(w, detach=True), env=docker_run.child_env(w, secrets or {})
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


def list_containers(project: str = "", all_states: bool = False) -> list[ContainerInfo]:
    label = f"{LABEL_PROJECT}={project}" if project else LABEL_PROJECT
    argv = ["ps", "--filter", f"label={label}", "--format", "{{json .}}", "--no-trunc"]
    if all_states:
        argv.append("-a")
    out = docker(*argv).stdout
    return [_info(json.loads(line)) for line in out.splitlines() if line.strip()]


def _info(row: dict[str, str]) -> ContainerInfo:
    labels = dict(kv.split("=", 1) for kv in row.get("Labels", "").split(",") if "=" in kv)
    return ContainerInfo(row["ID"][:12], row["Names"], row["Image"], row["Status"],
                         row.get("Ports", ""), labels.get(LABEL_PROJECT, ""),
                         labels.get(LABEL_ROLE, ""))


def stop(container: str, timeout: int | None = None) -> None:
    """Stop (SIGTERM, then SIGKILL after `timeout` or the container's own stop timeout)."""
    docker("stop", *(("-t", str(timeout)) if timeout is not None else ()), container,
           check=False)
    docker("rm", "-f", container, check=False)


def logs_tail(container: str, lines: int = 30) -> str:
    result = docker("logs", "--tail", str(lines), container, check=False)
    return (result.stdout + result.stderr).strip()


def is_running(container: str) -> bool:
    result = docker("inspect", "--format", "{{.State.Running}}", container, check=False)
    return result.stdout.strip() == "true"
