"""Containers: run in the foreground, start in the background, find by label, stop."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from dockyard.engine._cmd import docker, docker_client
from dockyard.engine.images import LABEL_PROJECT, LABEL_ROLE


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = False

    def arg(self) -> str:
        """`--mount`'s value. Docker reads it as one CSV record, so a field holding a comma or a
        quote (a project folder named `a,b`) is quoted the CSV way instead of splitting."""
        fields = ["type=bind", f"source={self.source}", f"target={self.target}"]
        if self.read_only:
            fields.append("readonly")
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow(fields)
        return buffer.getvalue()


@dataclass(frozen=True)
class Port:
    host_port: int
    container_port: int
    host_ip: str = "127.0.0.1"  # never all interfaces unless asked

    def arg(self) -> str:
        return f"{self.host_ip}:{self.host_port}:{self.container_port}"


@dataclass(frozen=True)
class RunRequest:
    image: str
    command: tuple[str, ...] = ()
    name: str = ""
    project: str = ""
    role: str = "run"
    workdir: str = ""
    user: str = ""
    mounts: tuple[Mount, ...] = ()
    ports: tuple[Port, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    remove: bool = True
    read_only: bool = False
    stop_timeout: int = 0  # seconds `docker stop` waits before SIGKILL; 0: the engine's 10 s
    drop_caps: bool = True
    # Secrets (name, value): passed as `-e NAME` with the value in the docker client's own
    # environment, so no `ps` and no `-v` log shows it.
    secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def child_env(self) -> dict[str, str]:
        """The environment the docker client needs for this request's secrets."""
        return dict(self.secrets)


def run_argv(req: RunRequest, *, detach: bool, interactive: bool = False) -> list[str]:
    argv = ["run", "--label", f"{LABEL_PROJECT}={req.project}",
            "--label", f"{LABEL_ROLE}={req.role}", "--security-opt", "no-new-privileges"]
    if req.drop_caps:
        argv += ["--cap-drop", "ALL"]
    if req.remove:
        argv.append("--rm")
    argv.append("-d" if detach else "-i")
    if interactive and sys.stdin.isatty() and sys.stdout.isatty():
        argv.append("-t")
    if req.name:
        argv += ["--name", req.name]
    if req.workdir:
        argv += ["-w", req.workdir]
    if req.user:
        argv += ["--user", req.user]
    if req.stop_timeout:
        argv += ["--stop-timeout", str(req.stop_timeout)]
    if req.read_only:
        argv += ["--read-only", "--tmpfs", "/tmp"]
    for mount in req.mounts:
        argv += ["--mount", mount.arg()]
    for port in req.ports:
        argv += ["-p", port.arg()]
    for key, value in req.env:
        argv += ["-e", f"{key}={value}"]
    for key, _value in req.secrets:
        argv += ["-e", key]
    return [*argv, req.image, *req.command]


def run_foreground(req: RunRequest) -> int:
    """Run attached, passing the terminal through; returns the command's own exit code."""
    argv = [docker_client().path, *run_argv(req, detach=False, interactive=True)]
    return subprocess.run(argv, check=False, env={**os.environ, **req.child_env()}).returncode


def run_streaming(req: RunRequest, on_line: Callable[[str], None]) -> int:
    """Run attached without a terminal, handing each line of output (stdout and stderr
    merged, in order) to `on_line` as it comes; returns the command's own exit code."""
    return docker(*run_argv(req, detach=False), on_line=on_line, check=False,
                  env=req.child_env()).returncode


def start(req: RunRequest) -> str:
    """Start detached; returns the container id."""
    return docker(*run_argv(req, detach=True), env=req.child_env()).stdout.strip()


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
