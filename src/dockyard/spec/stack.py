"""`[services.<name>]` and `[pipeline.steps.<name>]`: what the user writes, and the resolved stack.

pydantic checks types and unknown keys when the file is loaded (every command). What depends on
the whole stack — known kinds, settings that fit the kind, missing steps, cycles, port clashes —
is checked by `resolve_stack`, which only the stack commands call; it raises one `SpecError`
listing every problem, each naming its key, before anything is written.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainValidator
from pydantic_core import PydanticCustomError

from dockyard.spec import checks
from dockyard.spec.checks import Host, ImageRef, Predictor, RelativePath
from dockyard.spec.patterns import pattern
from dockyard.spec.schedule import check_schedule, seconds

NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)? ?[kKmMgGtT]?[iI]?[bB]?$")
# PostgreSQL database and role names dockyard passes unquoted.
SQL_NAME = pattern(r"^[a-z_][a-z0-9_]{0,62}$", "lowercase letters, digits and '_', starting with a "
                   "letter or '_', at most 63, such as \"analytics\"")


def _command(value: object) -> str | list[str]:
    if isinstance(value, str) or (isinstance(value, list)
                                  and all(isinstance(v, str) for v in value)):
        return value
    raise PydanticCustomError("command_type", "expected a string or a list of strings")


def _env(value: object) -> dict[str, str]:
    if not (isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                            for k, v in value.items())):
        raise PydanticCustomError("env_type", "expected a table of strings")
    for key in value:
        try:
            checks.env_name(key)
        except ValueError as exc:
            raise PydanticCustomError("spec_env_name", f"{key!r}: {exc}") from None
    return value


def _schedule(value: object) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("spec_schedule", 'expected a cron line such as "0 3 * * *" '
                                                   'or a preset such as "@daily"')
    try:
        return check_schedule(value.strip())
    except ValueError as exc:
        raise PydanticCustomError("spec_schedule", str(exc)) from None


def _duration(value: object) -> int:
    try:
        return seconds(value)
    except ValueError as exc:
        raise PydanticCustomError("spec_duration", str(exc)) from None


# What a notebook parameter may be: what both TOML and JSON can say (no dates).
ParamValue = str | int | float | bool | list[object] | dict[str, object]


def _parameters(value: object) -> dict[str, ParamValue]:
    if not isinstance(value, dict):
        raise PydanticCustomError("spec_parameters", "expected a table such as {alpha = 0.5}")
    for name, item in value.items():
        if not (isinstance(name, str) and name.isidentifier()):
            raise PydanticCustomError("spec_parameters",
                                      f"{name!r} is not a Python variable name")
        if not _jsonable(item):
            raise PydanticCustomError("spec_parameters",
                                      f"{name}: only strings, numbers, booleans, arrays and "
                                      "tables can be passed to a notebook")
    return value


def _jsonable(value: object) -> bool:
    if isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list):
        return all(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return False


Command = Annotated[str | list[str], PlainValidator(_command)]
Env = Annotated[dict[str, str], PlainValidator(_env)]
Schedule = Annotated[str, PlainValidator(_schedule)]
Duration = Annotated[int, PlainValidator(_duration)]
Parameters = Annotated[dict[str, ParamValue], PlainValidator(_parameters)]


def _memory(value: object) -> str:
    if isinstance(value, str) and MEMORY.match(value):
        return value
    raise PydanticCustomError("memory_type", 'expected a size such as "512m" or "2g"')


Memory = Annotated[str, PlainValidator(_memory)]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ServiceSection(_Section):
    """One service. Which settings apply depends on the kind (see dockyard.spec.catalog)."""

    kind: str | None = None
    image: ImageRef | None = None
    version: str | None = Field(default=None, pattern=pattern(
        r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$",
        "an image tag such as \"15\" or \"7.2-alpine\" (letters, digits, '.', '_' and '-')"))
    port: Port | None = None
    publish: bool | None = None
    host: Host | None = None
    cpus: float | None = Field(default=None, gt=0, le=512)
    memory: Memory | None = None
    env: Env = Field(default_factory=dict)
    gpu: bool | None = None
    command: Command | None = None
    database: str | None = Field(default=None, pattern=SQL_NAME)
    user: str | None = Field(default=None, pattern=SQL_NAME)
    workers: int | None = Field(default=None, ge=1, le=64)
    worker_cores: int | None = Field(default=None, ge=1, le=256)
    worker_memory: Memory | None = None
    console_port: Port | None = None
    model: RelativePath | None = None
    predictor: Predictor | None = None
    app: RelativePath | None = None
    framework: str | None = None


class StepSection(_Section):
    """One pipeline step: a command in the project's image, or a notebook (`command` is one
    `.ipynb` path) run as `dockyard run NOTEBOOK -p` runs it."""

    command: Command
    after: list[str] = Field(default_factory=list)
    retries: int | None = Field(default=None, ge=0, le=10)  # [pipeline]'s by default, else 0
    retry_delay: Duration | None = None  # seconds between attempts; [pipeline]'s by default
    timeout: Duration | None = None  # the longest one attempt may run; [pipeline]'s, else none
    parameters: Parameters = Field(default_factory=dict)  # notebook steps: papermill's
    output: RelativePath | None = None  # notebook steps: the executed copy
    gpu: bool = False
    cpus: float | None = Field(default=None, gt=0, le=512)
    memory: Memory | None = None
    env: Env = Field(default_factory=dict)


class PipelineSection(_Section):
    schedule: Schedule | None = None  # cron line or preset: Airflow's schedule, a CronJob's
    # The steps' defaults: a step's own setting wins.
    retries: int | None = Field(default=None, ge=0, le=10)
    retry_delay: Duration | None = None
    timeout: Duration | None = None
    steps: dict[str, StepSection] = Field(default_factory=dict)


@dataclass(frozen=True)
class Resources:
    cpus: float | None = None
    memory: str = ""


@dataclass(frozen=True)
class Published:
    """A port on the host (`host:port`) forwarded to `target` in the container."""

    host: str
    port: int
    target: int
    key: str  # the spec key it comes from, for messages


@dataclass(frozen=True)
class ServiceSpec:
    """A resolved service; kind-specific fields keep their zero value where they do not apply."""

    name: str
    kind: str
    image: str = ""  # "" until the app layer picks the official or the local image
    version: str = ""
    ports: tuple[Published, ...] = ()
    resources: Resources = field(default_factory=Resources)
    env: tuple[tuple[str, str], ...] = ()
    gpu: bool = False
    command: tuple[str, ...] = ()
    database: str = ""
    user: str = ""
    workers: int = 0
    worker_cores: int = 0
    worker_memory: str = ""
    model: str = ""
    predictor: str = ""
    app: str = ""
    framework: str = ""
    image_pinned: bool = False  # the spec named the image: never swapped for a local build


@dataclass(frozen=True)
class StepSpec:
    name: str
    command: tuple[str, ...]  # a notebook step: (notebook,)
    after: tuple[str, ...] = ()
    retries: int = 0
    gpu: bool = False
    resources: Resources = field(default_factory=Resources)
    env: tuple[tuple[str, str], ...] = ()
    retry_delay: int = 0  # seconds; 0: the target's default
    timeout: int = 0  # seconds; 0: none
    notebook: str = ""  # the notebook a notebook step runs (POSIX, relative to the project)
    parameters: tuple[tuple[str, ParamValue], ...] = ()  # notebook steps, typed
    output: str = ""  # notebook steps: the executed copy; "": `dockyard run`'s default


@dataclass(frozen=True)
class StackSpec:
    """Services in catalog order, steps in dependency order."""

    project: str  # the Compose project name
    services: tuple[ServiceSpec, ...] = ()
    steps: tuple[StepSpec, ...] = ()
    schedule: str = ""  # the pipeline's, for schedulers (Airflow, a CronJob); "": none

    def service(self, kind: str) -> ServiceSpec | None:
        return next((s for s in self.services if s.kind == kind), None)

    def step(self, name: str) -> StepSpec | None:
        return next((s for s in self.steps if s.name == name), None)

    @property
    def after(self) -> dict[str, tuple[str, ...]]:
        return {s.name: s.after for s in self.steps}


def split_command(command: str | list[str] | None) -> tuple[str, ...]:
    """A TOML string is split like a shell would (no shell runs it); a list is kept as is."""
    if command is None:
        return ()
    return tuple(shlex.split(command)) if isinstance(command, str) else tuple(command)


def compose_project_name(key: str) -> str:
    """Compose wants [a-z0-9_-], starting with a letter or digit."""
    return re.sub(r"[^a-z0-9_-]+", "-", key.lower()).strip("-_") or "dockyard"
