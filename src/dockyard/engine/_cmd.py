"""The one place that runs `docker`: client discovery, argv logging, error mapping.

Docker's own Python SDK cannot drive BuildKit, so dockyard speaks to the `docker` CLI. The CLI
must build with BuildKit: a client from Docker 23+ needs the buildx plugin for that, while a
20.10 client builds with BuildKit itself under DOCKER_BUILDKIT=1. `docker_binary` picks the first
client on PATH (or $DOCKYARD_DOCKER) that can.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dockyard.errors import EngineError, EngineUnavailable, UserError

log = logging.getLogger("dockyard.engine")

_NO_DAEMON = ("Cannot connect to the Docker daemon", "Is the docker daemon running",
              "error during connect", "docker.sock: connect: no such file")


@dataclass(frozen=True)
class Client:
    path: str
    version: str
    buildkit: bool
    server: str = ""  # the engine's version when it answered the probe, else ""


@functools.cache
def docker_client() -> Client:
    """The docker CLI to use: $DOCKYARD_DOCKER, else the first BuildKit-capable one on PATH."""
    forced = os.environ.get("DOCKYARD_DOCKER")
    if forced and not (os.path.isfile(forced) and os.access(forced, os.X_OK)):
        raise EngineUnavailable(f"DOCKYARD_DOCKER={forced!r} is not an executable file",
                                hint="point DOCKYARD_DOCKER at a docker client (e.g. "
                                     "/usr/bin/docker), or unset it to search PATH")
    candidates = [forced] if forced else _candidates()
    if not candidates:
        raise EngineUnavailable("no docker client found on PATH",
                                hint="install Docker (Debian: apt-get install docker.io), "
                                     "then run `dockyard doctor`")
    clients = [_probe(path) for path in candidates]
    for client in clients:
        if client.buildkit:
            return client
    return clients[0]


def _candidates() -> list[str]:
    seen: list[str] = []
    for folder in [*os.environ.get("PATH", "").split(os.pathsep), "/usr/bin"]:
        path = shutil.which("docker", path=folder) if folder else None
        if path and os.path.realpath(path) not in {os.path.realpath(p) for p in seen}:
            seen.append(path)
    return seen


def _probe(path: str) -> Client:
    # One call tells the client's version and, when the engine answers, the engine's: `ping`
    # then costs nothing (each docker call is ~0.1 s, and `run` makes several).
    try:
        out = subprocess.run([path, "version", "--format",
                              "{{.Client.Version}} {{if .Server}}{{.Server.Version}}{{end}}"],
                             capture_output=True, text=True, check=False, timeout=20)
    except FileNotFoundError:
        raise EngineUnavailable(f"the docker client {path} does not exist",
                                hint="point DOCKYARD_DOCKER at a docker binary, or unset it"
                                ) from None
    except subprocess.TimeoutExpired:
        out = subprocess.CompletedProcess([path], 1, "", "")
    words = out.stdout.split()
    version = words[0] if words else "0"
    server = words[1] if out.returncode == 0 and len(words) > 1 else ""
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    if major < 23:  # 18.09 to 22.x build with BuildKit natively under DOCKER_BUILDKIT=1
        return Client(path, version, major >= 19, server)
    buildx = subprocess.run([path, "buildx", "version"], capture_output=True, check=False)
    return Client(path, version, buildx.returncode == 0, server)


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def docker(
    *args: str,
    check: bool = True,
    input_text: str | None = None,
    on_line: Callable[[str], None] | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    """Run `docker ARGS`. With `on_line`, stdout+stderr are streamed line by line."""
    argv = (docker_client().path, *args)
    log.debug("$ %s", " ".join(shown(argv)))
    full_env = {**os.environ, "DOCKER_BUILDKIT": "1", **(env or {})}
    if on_line is not None:
        return _stream(argv, on_line, full_env, check)
    try:
        proc = subprocess.run(argv, input=input_text, capture_output=True, text=True,
                              check=False, timeout=timeout, env=full_env)
    except subprocess.TimeoutExpired:
        raise EngineError(f"docker {args[0]} timed out after {timeout:.0f}s", argv=argv) from None
    result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise engine_error(result)
    return result


_SECRET_NAME = re.compile(r"(TOKEN|KEY|PASSWORD|SECRET|CREDENTIAL)", re.I)
_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def shown(argv: Sequence[str]) -> list[str]:
    """argv as logged: values of secret-looking `NAME=value` arguments and URL credentials
    masked. (dockyard passes secrets by name; this guards what a caller might still add.)"""
    masked = []
    for arg in argv:
        name, sep, _value = arg.partition("=")
        if sep and _SECRET_NAME.search(name) and "," not in name and "/" not in name:
            arg = f"{name}=***"
        masked.append(_URL_CREDENTIALS.sub(r"\1***@", arg))
    return masked


def _stream(argv: Sequence[str], on_line: Callable[[str], None], env: dict[str, str],
            check: bool) -> Result:
    lines: list[str] = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            on_line(line.rstrip("\n"))
    output = "".join(lines)
    result = Result(tuple(argv), proc.returncode, output, output)
    if check and proc.returncode != 0:
        raise engine_error(result)
    return result


def engine_error(result: Result) -> EngineError | UserError:
    """Map a failed docker command to a typed error with the tail of what it said."""
    tail = "\n".join(result.stderr.strip().splitlines()[-15:])
    if any(marker in result.stderr for marker in _NO_DAEMON):
        return EngineUnavailable("the Docker engine is not running (docker could not connect)")
    last = tail.splitlines()[-1] if tail else f"exit code {result.returncode}"
    return EngineError(f"docker {result.argv[1]} failed: {last.strip()}", argv=result.argv,
                       returncode=result.returncode, stderr_tail=tail)


def ping() -> None:
    """Raise EngineUnavailable unless an engine answers (the client probe may have seen it)."""
    if docker_client().server:
        return
    result = docker("version", "--format", "{{.Server.Version}}", check=False, timeout=20)
    if result.returncode != 0:
        raise engine_error(result)
