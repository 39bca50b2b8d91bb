"""Resolve `[services]` and `[pipeline]` into a `StackSpec`, collecting every problem first.

Each problem names its key (`services.cache.kind`, `pipeline.steps.train.after`) so that the
one-line error points at the line to fix. Nothing here touches the engine or the disk beyond
reading the project (to find a dashboard app).
"""

from __future__ import annotations

import re

from dockyard.errors import SpecError
from dockyard.plan.defaults import API_PORT
from dockyard.project import ProjectView
from dockyard.spec.catalog import CATALOG, FRAMEWORKS, KINDS, Kind
from dockyard.spec.checks import relative_path
from dockyard.spec.dashboard import find_apps, framework_of
from dockyard.spec.graph import graph_problems, topological
from dockyard.spec.model import UserSpec
from dockyard.spec.resolve import Spec
from dockyard.spec.stack import (
    NAME,
    PipelineSection,
    Published,
    Resources,
    ServiceSection,
    ServiceSpec,
    StackSpec,
    StepSection,
    StepSpec,
    compose_project_name,
    split_command,
)

MINIO_CONSOLE_PORT = 9001
# Secrets the project's containers read from .env (mode 0600), never from the spec.
ENV_FILE_SECRETS = frozenset({"DOCKYARD_API_KEY", "JUPYTER_TOKEN"})


class _Problems(list[str]):
    def add(self, key: str, message: str) -> None:
        self.append(f"{key}: {message}")


def resolve_stack(user: UserSpec, spec: Spec, view: ProjectView, file: str) -> StackSpec:
    """The stack the spec asks for, or a SpecError listing every problem (first one first)."""
    problems = _Problems()
    services = [svc for name, section in user.services.items()
                if (svc := _service(name, section, spec, view, problems)) is not None]
    _check_duplicate_kinds(services, user, problems)
    steps = _steps(user, services, view, problems)
    _check_ports(services, problems)
    if problems:
        first_key = problems[0].split(":", 1)[0]
        raise SpecError(file or "dockyard.toml", problems,
                        hint=f"fix [{_table(first_key)}] in {file or 'dockyard.toml'}")
    services.sort(key=lambda s: (KINDS.index(s.kind), s.name))
    return StackSpec(compose_project_name(spec.project_key), tuple(services), tuple(steps),
                     schedule=user.pipeline.schedule or "")


def _table(key: str) -> str:
    parts = key.split(".")
    return ".".join(parts[:3] if parts[0] == "pipeline" else parts[:2])


def _service(name: str, section: ServiceSection, spec: Spec, view: ProjectView,
             problems: _Problems) -> ServiceSpec | None:
    key = f"services.{name}"
    if not NAME.match(name):
        problems.add(key, "a service name must be lowercase letters, digits and '-', starting "
                          "with a letter (it becomes a host name)")
        return None
    kind = CATALOG.get(section.kind or name)
    if kind is None:
        known = ", ".join(KINDS)
        if section.kind:
            problems.add(f"{key}.kind", f'unknown service kind "{section.kind}" (known: {known})')
        else:
            problems.add(key, f'unknown service kind "{name}": name a catalog service or set '
                              f"kind (known: {known})")
        return None
    for setting in sorted(section.model_fields_set - set(kind.allowed)):
        problems.add(f"{key}.{setting}", f"not a setting of a {kind.name} service")
    for secret in sorted(set(section.env) & ENV_FILE_SECRETS):
        problems.add(f"{key}.env.{secret}", "a secret does not belong in dockyard.toml (it would "
                                            f"be written into compose.yaml): put {secret}=... "
                                            "in .env instead")
    if kind.role == "project":
        return _project_role(name, kind, section, spec, view, problems)
    return _data_service(name, kind, section, spec)


def _data_service(name: str, kind: Kind, section: ServiceSection, spec: Spec) -> ServiceSpec:
    ports = _ports(name, kind, section, section.host or "127.0.0.1", kind.container_port,
                   kind.host_port)
    if kind.name == "minio" and section.publish is not False:
        ports += (Published(section.host or "127.0.0.1",
                            section.console_port or MINIO_CONSOLE_PORT, MINIO_CONSOLE_PORT,
                            f"services.{name}.console_port"),)
    return ServiceSpec(
        name=name, kind=kind.name, image=section.image or "",
        version=section.version or kind.version, ports=ports,
        resources=Resources(section.cpus, section.memory or kind.memory),
        env=tuple(sorted(section.env.items())),
        database=section.database or database_name(spec.name),
        user=section.user or "app", workers=section.workers or 1,
        worker_cores=section.worker_cores or 1, worker_memory=section.worker_memory or "1g",
        image_pinned=section.image is not None,
    )


def database_name(project: str) -> str:
    """The project's name as a PostgreSQL identifier that needs no quoting."""
    name = re.sub(r"[^a-z0-9_]+", "_", project.lower()).strip("_")
    return name if re.match(r"^[a-z_]", name) else f"db_{name}"


def _ports(name: str, kind: Kind, section: ServiceSection, host: str, target: int,
           default_port: int) -> tuple[Published, ...]:
    publish = section.publish if section.publish is not None else (
        kind.published or section.port is not None)
    if not publish:
        return ()
    return (Published(host, section.port or default_port, target, f"services.{name}.port"),)


def _project_role(name: str, kind: Kind, section: ServiceSection, spec: Spec,
                  view: ProjectView, problems: _Problems) -> ServiceSpec:
    key = f"services.{name}"
    target, default_port, host = kind.container_port, kind.host_port, "127.0.0.1"
    extra: dict[str, str] = {}
    if kind.name == "lab":
        default_port, host = spec.lab_port, spec.lab_host
    elif kind.name == "api":
        target = API_PORT
        default_port = spec.serve.port
        extra = _api_target(key, section, spec, problems)
    else:
        extra = _dashboard_app(key, section, view, problems)
        framework = FRAMEWORKS.get(extra.get("framework", ""))
        target = default_port = framework.port if framework else 0
    return ServiceSpec(
        name=name, kind=kind.name, image=section.image or "",
        ports=_ports(name, kind, section, section.host or host, target, default_port),
        resources=Resources(section.cpus, section.memory or ""),
        env=tuple(sorted(section.env.items())), gpu=bool(section.gpu),
        command=split_command(section.command), workers=section.workers or 0,
        model=extra.get("model", ""), predictor=extra.get("predictor", ""),
        app=extra.get("app", ""), framework=extra.get("framework", ""),
        image_pinned=section.image is not None,
    )


def _api_target(key: str, section: ServiceSection, spec: Spec,
                problems: _Problems) -> dict[str, str]:
    model = section.model or spec.serve.model
    predictor = section.predictor or spec.serve.predictor
    if not model and not predictor:
        problems.add(key, 'nothing to serve: set model = "path/to/model" or predictor = '
                          '"module:Class" (here or in [serve])')
    if predictor and ":" not in predictor:
        problems.add(f"{key}.predictor", f'expected "module:Class", got "{predictor}"')
    return {"model": model, "predictor": predictor}


def _dashboard_app(key: str, section: ServiceSection, view: ProjectView,
                   problems: _Problems) -> dict[str, str]:
    if section.framework and section.framework not in FRAMEWORKS:
        problems.add(f"{key}.framework", f'unknown framework "{section.framework}" (known: '
                                         f"{', '.join(FRAMEWORKS)})")
        return {}
    if section.app:
        if not view.exists(section.app):
            problems.add(f"{key}.app", f'no file "{section.app}" in the project')
            return {}
        framework = section.framework or framework_of(view.read_text(section.app))
        if not framework:
            problems.add(f"{key}.framework", f'cannot tell the framework of "{section.app}"; '
                                             f"set framework = one of {', '.join(FRAMEWORKS)}")
        return {"app": section.app, "framework": framework}
    apps = [a for a in find_apps(view) if a.framework == (section.framework or a.framework)]
    if not apps:
        problems.add(key, "no Streamlit, Dash, Panel or Gradio app found in the project; set "
                          'app = "path/to/app.py"')
        return {}
    return {"app": apps[0].path, "framework": apps[0].framework}


def _check_duplicate_kinds(services: list[ServiceSpec], user: UserSpec,
                           problems: _Problems) -> None:
    seen: dict[str, str] = {}
    for svc in services:
        if svc.kind in seen:
            where = "kind" if user.services[svc.name].kind else ""
            problems.add(f"services.{svc.name}" + (f".{where}" if where else ""),
                         f"a stack holds one {svc.kind} service, and services.{seen[svc.kind]} "
                         "is one already")
        seen.setdefault(svc.kind, svc.name)


def compose_names(services: list[ServiceSpec] | tuple[ServiceSpec, ...]) -> set[str]:
    """Compose service names the services take (spark adds `<name>-worker`)."""
    names = {s.name for s in services}
    names |= {f"{s.name}-worker" for s in services if s.kind == "spark"}
    return names


def _steps(user: UserSpec, services: list[ServiceSpec], view: ProjectView,
           problems: _Problems) -> list[StepSpec]:
    sections = user.pipeline.steps
    taken = compose_names(services)
    for name, section in sections.items():
        key = f"pipeline.steps.{name}"
        if not NAME.match(name):
            problems.add(key, "a step name must be lowercase letters, digits and '-', starting "
                              "with a letter")
        elif name in taken:
            problems.add(key, f'the name "{name}" is taken by a service of the stack')
        if not split_command(section.command):
            problems.add(f"{key}.command", "must not be empty")
        _check_notebook(key, section, view, problems)
    after = {name: tuple(s.after) for name, s in sections.items()}
    for step, message in graph_problems(after):
        problems.add(f"pipeline.steps.{step}.after", message)
    if problems:
        return []
    return [_step(name, sections[name], user.pipeline) for name in topological(after)]


def notebook_of(section: StepSection) -> str:
    """The notebook a step runs: its command is one `.ipynb` path; else ""."""
    command = split_command(section.command)
    return command[0] if len(command) == 1 and command[0].endswith(".ipynb") else ""


def _check_notebook(key: str, section: StepSection, view: ProjectView,
                    problems: _Problems) -> None:
    """A notebook step names a notebook of the project; parameters and output are its own."""
    notebook = notebook_of(section)
    if not notebook:
        for setting in ("parameters", "output"):
            if setting in section.model_fields_set:
                problems.add(f"{key}.{setting}", "only a notebook step has one (its command "
                                                 'is one notebook: command = "nb.ipynb")')
        return
    try:
        rel = relative_path(notebook)
    except ValueError as exc:
        problems.add(f"{key}.command", f'"{notebook}": {exc}')
        return
    if not view.exists(rel):
        problems.add(f"{key}.command", f'no notebook "{rel}" in the project')
    if section.output is not None and (not section.output.endswith(".ipynb")
                                       or section.output == rel):
        problems.add(f"{key}.output", f'"{section.output}" must be another .ipynb file than '
                                      "the notebook (it receives the executed copy)")


def _step(name: str, section: StepSection, pipeline: PipelineSection) -> StepSpec:
    """The step as written, with [pipeline]'s retries, retry_delay and timeout where it sets
    none (a step's own 0 keeps 0)."""
    notebook = notebook_of(section)
    return StepSpec(name=name, command=split_command(section.command), after=tuple(section.after),
                    retries=_first(section.retries, pipeline.retries), gpu=section.gpu,
                    resources=Resources(section.cpus, section.memory or ""),
                    env=tuple(sorted(section.env.items())),
                    retry_delay=_first(section.retry_delay, pipeline.retry_delay),
                    timeout=_first(section.timeout, pipeline.timeout),
                    notebook=relative_path(notebook) if notebook else "",
                    parameters=tuple(sorted(section.parameters.items())),
                    output=section.output or "")


def _first(own: int | None, default: int | None) -> int:
    return own if own is not None else default or 0


def _check_ports(services: list[ServiceSpec], problems: _Problems) -> None:
    """Two services cannot publish the same host port (0.0.0.0 overlaps every address)."""
    seen: list[Published] = []
    for published in (p for s in services for p in s.ports):
        clash = next((p for p in seen if p.port == published.port
                      and (p.host == published.host or "0.0.0.0" in (p.host, published.host))),
                     None)
        if clash:
            problems.add(published.key, f"port {published.port} is already published by "
                                        f"{clash.key}")
        seen.append(published)
