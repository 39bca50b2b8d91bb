"""The one place that runs `docker`: client discovery, argv logging, error mapping.

Docker's own Python SDK cannot drive BuildKit, so dockyard speaks to the `docker` CLI. The CLI
must build with BuildKit: a client from Docker 23+ needs the buildx plugin for that, while a
20.10 client builds with BuildKit itself under DOCKER_BUILDKIT=1. `docker_binary` picks the first
client on PATH (or $DOCKYARD_DOCKER) that can.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dockyard.engine.runner import ProcessRunner, Result, Runner, RunTimeout
from dockyard.errors import EngineError, EngineUnavailable, UserError

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
    """The docker CLI to use: $DOCKYARD_DOCKER, else the first BuildKit-capable one on PATH
    (probed once per process)."""
    return find_client(ProcessRunner())


def find_client(runner: Runner) -> Client:
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
    clients = [_probe(path, runner) for path in candidates]
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


def _probe(path: str, runner: Runner) -> Client:
    # One call tells the client's version and, when the engine answers, the engine's: `ping`
    # then costs nothing (each docker call is ~0.1 s, and `run` makes several).
    try:
        out = runner.run([path, "version", "--format",
                          "{{.Client.Version}} {{if .Server}}{{.Server.Version}}{{end}}"],
                         timeout=20)
    except FileNotFoundError:
        raise EngineUnavailable(f"the docker client {path} does not exist",
                                hint="point DOCKYARD_DOCKER at a docker binary, or unset it"
                                ) from None
    except RunTimeout:
        out = Result((path,), 1, "", "")
    words = out.stdout.split()
    version = words[0] if words else "0"
    server = words[1] if out.returncode == 0 and len(words) > 1 else ""
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    if major < 23:  # 18.09 to 22.x build with BuildKit natively under DOCKER_BUILDKIT=1
        return Client(path, version, major >= 19, server)
    buildx = runner.run([path, "buildx", "version"])
    return Client(path, version, buildx.returncode == 0, server)


class Engine:
    """The one way dockyard talks to Docker and Compose: every `docker` process goes through
    its runner. Use cases receive one; tests hand them `dockyard.engine.fake.FakeEngine`."""

    def __init__(self, runner: Runner | None = None, client: Client | None = None) -> None:
        self.runner: Runner = runner or ProcessRunner()
        self._client = client

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = docker_client()
        return self._client

    def docker(self, *args: str, check: bool = True, input_text: str | None = None,
               on_line: Callable[[str], None] | None = None, timeout: float | None = None,
               env: Mapping[str, str] | None = None) -> Result:
        """Run `docker ARGS` (captured; with `on_line`, streamed line by line)."""
        argv = (self.client.path, *args)
        full_env = {**os.environ, "DOCKER_BUILDKIT": "1", **(env or {})}
        try:
            result = self.runner.run(argv, env=full_env, input_text=input_text,
                                     timeout=timeout, on_line=on_line)
        except RunTimeout:
            raise EngineError(f"docker {args[0]} timed out after {timeout or 0:.0f}s",
                              argv=argv) from None
        if check and result.returncode != 0:
            raise engine_error(result)
        return result

    def foreground(self, *args: str, env: Mapping[str, str] | None = None) -> int:
        """Run `docker ARGS` on the terminal (a `docker run -it`, a log follow); its exit
        code."""
        full_env = {**os.environ, **env} if env else None
        return self.runner.run((self.client.path, *args), env=full_env,
                               foreground=True).returncode

    def ping(self) -> None:
        """Raise EngineUnavailable unless an engine answers (the client probe may have seen
        it)."""
        if self.client.server:
            return
        result = self.docker("version", "--format", "{{.Server.Version}}", check=False,
                             timeout=20)
        if result.returncode != 0:
            raise engine_error(result)


def engine_error(result: Result) -> EngineError | UserError:
    """Map a failed docker command to a typed error with the tail of what it said."""
    tail = "\n".join(result.stderr.strip().splitlines()[-15:])
    if any(marker in result.stderr for marker in _NO_DAEMON):
        return EngineUnavailable("the Docker engine is not running (docker could not connect)")
    last = tail.splitlines()[-1] if tail else f"exit code {result.returncode}"
    return EngineError(f"docker {result.argv[1]} failed: {last.strip()}", argv=result.argv,
                       returncode=result.returncode, stderr_tail=tail)


__all__ = ["Client", "Engine", "Result", "docker_client", "engine_error", "find_client"]
