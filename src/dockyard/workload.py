"""The one description of a container dockyard runs, whatever runs it: a `Workload`.

The lab, `dockyard run`, a notebook run, the model server, every service of a stack and every
pipeline step is first resolved into a frozen `Workload` (see `dockyard.plan`, the one place
defaults live); targets are pure renderers of the same values (`dockyard.render.docker_run`,
`dockyard.render.compose`, and next Kubernetes objects and Airflow tasks). This module is a
leaf: it imports nothing of dockyard's.

Values are as the container should see them: no target's escaping (Compose's `$$`, a shell's
quotes) is applied here. Secrets appear by name only (`SecretRef`); their values are supplied
where the workload runs (`.env` for Compose, the docker client's environment for `docker run`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

Condition = Literal["healthy", "completed"]
Restart = Literal["", "no", "unless-stopped"]


@dataclass(frozen=True)
class SecretRef:
    """A secret by name (a `.env` variable, a Kubernetes Secret key); never its value."""

    name: str
    required: bool = True  # False: empty when unset (an optional API key)


@dataclass(frozen=True)
class SecretFile:
    """A secret given as a file, /run/secrets/<name>, made from the secret `source`."""

    name: str
    source: SecretRef


EnvPart = str | SecretRef


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: literal text, secret references, or text around them
    (`postgresql://app:<POSTGRES_PASSWORD>@postgres:5432/db`)."""

    name: str
    parts: tuple[EnvPart, ...]

    @property
    def secrets(self) -> tuple[SecretRef, ...]:
        return tuple(p for p in self.parts if isinstance(p, SecretRef))

    @property
    def text(self) -> str:
        """The value when it holds no secret ("" for the parts that are secrets)."""
        return "".join(p for p in self.parts if isinstance(p, str))


def env(name: str, value: str) -> EnvVar:
    return EnvVar(name, (value,))


def secret_env(name: str, required: bool = True) -> EnvVar:
    """The variable NAME holding the secret NAME."""
    return EnvVar(name, (SecretRef(name, required),))


@dataclass(frozen=True)
class Mount:
    """`bind`: a host path (relative paths are the project folder's); `volume`: a named volume
    of the stack; `data`: a data folder of the project, shared by every container through one
    volume bound to the host folder (`source` is the folder, relative to the project);
    `scratch`: an empty folder the container may write to, gone with it (a tmpfs, a Kubernetes
    emptyDir) — what an image writes besides its data when its root filesystem is read-only."""

    source: str
    target: str
    kind: Literal["bind", "volume", "data", "scratch"] = "bind"
    read_only: bool = False


@dataclass(frozen=True)
class Port:
    host_port: int
    container_port: int
    host_ip: str = "127.0.0.1"  # never all interfaces unless asked


@dataclass(frozen=True)
class Resources:
    cpus: float | None = None
    memory: str = ""  # "512m", "2g"; "" no limit
    gpus: int = 0  # 0: none; -1: all the host has


@dataclass(frozen=True)
class Probe:
    """How to tell the container is healthy, run inside it: `command` (exec form), or `shell`
    (one shell line), or `http` (a URL answered with 2xx/3xx). Long-running containers have
    one; targets use it for readiness and liveness (Compose has one healthcheck for both)."""

    command: tuple[str, ...] = ()
    shell: str = ""
    http: str = ""
    interval: str = "5s"
    timeout: str = "5s"
    retries: int = 10
    start_period: str = "30s"


@dataclass(frozen=True)
class User:
    """Numeric uid:gid, or `None` for either: the project folder's owner, filled in where the
    workload runs (DOCKYARD_UID/GID in `.env` for Compose)."""

    uid: int | None = None
    gid: int | None = None


@dataclass(frozen=True)
class Dependency:
    name: str
    condition: Condition = "healthy"


@dataclass(frozen=True)
class Workload:
    """One container. Empty values mean "not set": the target's own default applies."""

    name: str  # the container (docker run) or service (Compose) name; "" lets the engine pick
    role: str  # lab, run, notebook, serve, api, dashboard, step, or a data service's kind
    project: str  # the project key every container is labelled with
    image: str
    command: tuple[str, ...] = ()
    workdir: str = ""
    env: tuple[EnvVar, ...] = ()
    secret_files: tuple[SecretFile, ...] = ()
    mounts: tuple[Mount, ...] = ()
    ports: tuple[Port, ...] = ()
    resources: Resources = Resources()
    probe: Probe | None = None
    user: User | None = None
    read_only: bool = False  # read-only root filesystem, with a tmpfs at /tmp
    drop_caps: tuple[str, ...] = ()  # ("ALL",): no capability left
    no_new_privileges: bool = True
    restart: Restart = ""
    retries: int = 0  # a one-shot's attempts after the first
    timeout: int = 0  # seconds a one-shot may run; 0: no limit
    retry_delay: int = 0  # seconds between a one-shot's attempts; 0: the target's default
    depends_on: tuple[Dependency, ...] = ()
    replicas: int = 1
    local_image: bool = False  # built by dockyard, on no registry: never pulled
    profiles: tuple[str, ...] = ()  # started only when asked for (Compose profiles)
    remove: bool = False  # removed when it exits (docker run --rm)
    stop_timeout: int = 0  # seconds between SIGTERM and SIGKILL; 0: the engine's default

    @property
    def secrets(self) -> tuple[str, ...]:
        """Names of every secret the workload needs, in order of first use."""
        names = [s.name for var in self.env for s in var.secrets]
        names += [f.source.name for f in self.secret_files]
        return tuple(dict.fromkeys(names))

    @property
    def labels(self) -> tuple[tuple[str, str], ...]:
        return ((LABEL_PROJECT, self.project), (LABEL_ROLE, self.role))


# Every image, container, volume and network dockyard makes carries these labels.
LABEL_PROJECT = "dev.dockyard.project"
LABEL_ROLE = "dev.dockyard.role"


class _Named(Protocol):
    @property
    def name(self) -> str: ...


NamedT = TypeVar("NamedT", bound=_Named)


def merge_named(*groups: tuple[NamedT, ...]) -> tuple[NamedT, ...]:
    """Values by name, a later one replacing an earlier one in its place (a dict update):
    environment variables, dependencies."""
    merged: dict[str, NamedT] = {}
    for group in groups:
        for value in group:
            merged[value.name] = value
    return tuple(merged.values())


merge_env = merge_named


def plain_env(pairs: tuple[tuple[str, str], ...]) -> tuple[EnvVar, ...]:
    return tuple(env(name, value) for name, value in pairs)
