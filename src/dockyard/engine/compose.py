"""`docker compose`, driven for one stack: up, down, ps, logs, one-shot pipeline steps.

Every call names the project (`-p`), its folder and file explicitly, so the result never depends
on the current directory or a COMPOSE_* variable in the caller's environment. Compose itself
orders the pipeline (`service_completed_successfully`); this module only starts and reads it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.engine._cmd import Engine, Result
from dockyard.errors import UserError

LABEL_COMPOSE_PROJECT = "com.docker.compose.project"
ALL_PROFILES = ("*",)


@dataclass(frozen=True)
class ComposeProject:
    name: str
    directory: Path
    file: Path

    def argv(self, *args: str, profiles: Sequence[str] = ()) -> list[str]:
        argv = ["compose", "--ansi", "never", "--project-name", self.name]
        if self.file.is_file():  # `down`, `ps`, `logs` also work from the name alone
            argv += ["--project-directory", str(self.directory), "--file", str(self.file)]
        for profile in profiles:
            argv += ["--profile", profile]
        return [*argv, *args]


@dataclass(frozen=True)
class ServiceState:
    service: str
    container: str
    state: str  # created, running, exited, …
    health: str  # healthy, unhealthy, starting, or ""
    exit_code: int
    ports: str


def ensure_available(engine: Engine) -> None:
    if engine.docker("compose", "version", "--short", check=False).returncode != 0:
        raise UserError("the Docker Compose v2 plugin is not installed (`docker compose` fails)",
                        hint="run scripts/setup.sh, or install the compose plugin "
                             "(`dockyard doctor` says how)")


def check(engine: Engine, project: ComposeProject) -> str:
    """What `docker compose config` (Compose's own check of the file and its interpolation)
    objects to, .env included; "" when nothing."""
    result = engine.docker(*project.argv("config", "--quiet", profiles=ALL_PROFILES), check=False)
    if result.returncode == 0:
        return ""
    lines = [ln.strip() for ln in result.stderr.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {result.returncode}"


def up(engine: Engine, project: ComposeProject, services: Sequence[str], *,
       wait_timeout: int = 300,
       on_line: Callable[[str], None] | None = None) -> Result:
    """Start services detached and wait until each is healthy (or has completed)."""
    argv = project.argv("up", "--detach", "--wait", "--wait-timeout", str(wait_timeout),
                        "--remove-orphans", *services)
    return engine.docker(*argv, check=False, on_line=on_line or _quiet)


def run_attached(engine: Engine, project: ComposeProject, services: Sequence[str],
                 profiles: Sequence[str],
                 on_line: Callable[[str], None]) -> Result:
    """Run one-shot services in the foreground, their dependencies among them honoured,
    the others (already running) left alone; streams their output."""
    argv = project.argv("up", "--no-deps", "--no-color", *services, profiles=profiles)
    return engine.docker(*argv, check=False, on_line=on_line)


def remove(engine: Engine, project: ComposeProject, services: Sequence[str]) -> None:
    """Remove old containers of these services, so a new run starts with fresh logs."""
    if services:
        engine.docker(*project.argv("rm", "--force", "--stop", *services, profiles=ALL_PROFILES),
               check=False)


def stop(engine: Engine, project: ComposeProject) -> None:
    engine.docker(*project.argv("stop", profiles=ALL_PROFILES), check=False)


def down(engine: Engine, project: ComposeProject, *, volumes: bool,
         on_line: Callable[[str], None] | None = None) -> Result:
    argv = project.argv("down", "--remove-orphans", *(["--volumes"] if volumes else []),
                        profiles=ALL_PROFILES)
    return engine.docker(*argv, on_line=on_line or _quiet)


def states(engine: Engine, project: ComposeProject) -> list[ServiceState]:
    argv = project.argv("ps", "--all", "--format", "json", profiles=ALL_PROFILES)
    out = engine.docker(*argv).stdout
    rows = _json_rows(out)
    return sorted((_state(row) for row in rows), key=lambda s: (s.service, s.container))


def _json_rows(out: str) -> list[dict[str, object]]:
    """Compose prints one object per line (older releases: one array)."""
    text = out.strip()
    if not text:
        return []
    if text.startswith("["):
        rows: list[dict[str, object]] = json.loads(text)
        return rows
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _state(row: dict[str, object]) -> ServiceState:
    publishers = row.get("Publishers")
    ports = ", ".join(f"{p['URL']}:{p['PublishedPort']}->{p['TargetPort']}"
                      for p in (publishers if isinstance(publishers, list) else [])
                      if isinstance(p, dict) and p.get("PublishedPort"))
    return ServiceState(str(row.get("Service", "")), str(row.get("Name", "")),
                        str(row.get("State", "")), str(row.get("Health", "")),
                        int(str(row.get("ExitCode", 0) or 0)), ports)


def logs_tail(engine: Engine, project: ComposeProject, service: str, lines: int = 20) -> str:
    result = engine.docker(*project.argv("logs", "--no-log-prefix", "--tail", str(lines),
                                         service,
                                         profiles=ALL_PROFILES), check=False)
    return (result.stdout + result.stderr).strip()


def follow_logs(engine: Engine, project: ComposeProject, services: Sequence[str], *,
                follow: bool,
                tail: str = "all") -> int:
    """Logs straight to the terminal (Ctrl-C ends a follow); returns compose's exit code."""
    argv = project.argv("logs", "--tail", tail, *(["--follow"] if follow else []), *services,
                        profiles=ALL_PROFILES)
    return engine.foreground(*argv)


def oom_killed(engine: Engine, container: str) -> bool:
    result = engine.docker("inspect", "--format", "{{.State.OOMKilled}}", container, check=False)
    return result.stdout.strip() == "true"


def project_volumes(engine: Engine, name: str) -> list[str]:
    out = engine.docker("volume", "ls", "--filter", f"label={LABEL_COMPOSE_PROJECT}={name}",
                 "--format", "{{.Name}}").stdout
    return sorted(out.split())


def declared_volumes(engine: Engine, project: ComposeProject) -> list[str]:
    """The engine names of the volumes the compose file declares (what `down --volumes`
    removes besides the project's labelled ones); [] without a file."""
    if not project.file.is_file():
        return []
    result = engine.docker(*project.argv("config", "--format", "json", profiles=ALL_PROFILES),
                    check=False)
    if result.returncode != 0:
        return []
    volumes = json.loads(result.stdout or "{}").get("volumes") or {}
    return sorted(str(v.get("name") or f"{project.name}_{key}") for key, v in volumes.items()
                  if isinstance(v, dict) and not v.get("external"))


def existing_volumes(engine: Engine, names: Sequence[str]) -> list[str]:
    """Which of these volumes exist on the engine."""
    if not names:
        return []
    out = engine.docker("volume", "ls", "--format", "{{.Name}}").stdout.split()
    return sorted(set(names) & set(out))


def step_times(engine: Engine, containers: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Start and finish times (RFC 3339) of containers, by name."""
    if not containers:
        return {}
    out = engine.docker("inspect", "--format",
                        "{{.Name}} {{.State.StartedAt}} {{.State.FinishedAt}}",
                 *containers, check=False).stdout
    times = {}
    for line in out.splitlines():
        name, started, finished = [*line.split(), "", "", ""][:3]
        times[name.lstrip("/")] = (started, finished)
    return times


def engine_has_gpu(engine: Engine) -> bool:
    """An NVIDIA runtime registered with the engine (the NVIDIA Container Toolkit)."""
    out = engine.docker("info", "--format", "{{json .Runtimes}}", check=False).stdout
    return "nvidia" in out


def _quiet(_line: str) -> None:
    return None
