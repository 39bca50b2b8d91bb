"""Stacks: `dockyard compose`, `up`, `down`, `stack ps`, `logs` and `pipeline run`.

Each use case loads the stack (spec → `StackSpec` with its images chosen), writes compose.yaml
and .env when it needs them, and drives `docker compose` through `engine.compose`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from dockyard import files
from dockyard.app import envfile
from dockyard.app.building import current_image
from dockyard.app.context import Project
from dockyard.app.running import port_free
from dockyard.app.service_images import (
    ImageChoice,
    choose_image,
    ensure_image,
    image_mode,
    images_on,
)
from dockyard.app.serving import ServeTarget, build_serving, latest_serving_image
from dockyard.engine import compose as dc
from dockyard.engine._cmd import Engine
from dockyard.errors import EngineError, UserError
from dockyard.generate.artifacts import check_writable, is_generated, write_artifacts
from dockyard.generate.compose import COMPOSE_FILE, compose_artifact
from dockyard.generate.context import dockerignore
from dockyard.naming import local_image
from dockyard.plan.services import env_secrets
from dockyard.plan.stack import ProjectContext
from dockyard.spec.catalog import CATALOG
from dockyard.spec.checks import requirement_name
from dockyard.spec.resolve_stack import resolve_stack
from dockyard.spec.stack import ServiceSpec, StackSpec, compose_project_name

Lines = Callable[[str], None] | None


@dataclass(frozen=True)
class Stack:
    project: Project
    spec: StackSpec  # images chosen
    compose: dc.ComposeProject
    choices: tuple[tuple[str, ImageChoice], ...] = ()
    warnings: tuple[tuple[str, str], ...] = ()  # (message, hint)
    api_replicas: int = 1  # [deploy] replicas, tried on this machine

    @property
    def context(self) -> ProjectContext:
        spec = self.project.spec
        return ProjectContext(self.project.image, serve_image(self.project), spec.project_key,
                              spec.data_dirs, self.api_replicas)

    def replicas(self, svc: ServiceSpec) -> int:
        """How many containers the service runs (each published port then takes a range)."""
        return self.api_replicas if svc.kind == "api" else 1

    @property
    def uses_project_image(self) -> bool:
        return bool(self.spec.steps) or any(
            s.kind in ("lab", "dashboard") and not s.image for s in self.spec.services)

    @property
    def api(self) -> ServiceSpec | None:
        """The api service when it runs dockyard's serving image (not an image of the spec)."""
        api = self.spec.service("api")
        return api if api is not None and not api.image else None


def serve_image(project: Project) -> str:
    return local_image(f"{project.spec.name}-serve")


def compose_project(project: Project) -> dc.ComposeProject:
    """The Compose project of a folder: named after it, whatever its spec says now."""
    return dc.ComposeProject(compose_project_name(project.spec.project_key), project.root,
                             project.root / COMPOSE_FILE)


def load_stack(engine: Engine, project: Project) -> Stack:
    """Resolve [services] and [pipeline]; pick each data service's image."""
    spec = resolve_stack(project.loaded.spec, project.spec, project.view, project.loaded.file)
    if not spec.services and not spec.steps:
        raise UserError(f"{project.loaded.file or 'dockyard.toml'} has no [services] or "
                        "[pipeline] section: there is no stack to compose",
                        hint="add e.g. [services.postgres] and [services.lab] to dockyard.toml")
    mode = image_mode() if any(CATALOG[s.kind].role == "data" for s in spec.services) else ""
    services, choices = [], []
    for svc in spec.services:
        kind = CATALOG[svc.kind]
        if kind.role == "data" and not svc.image_pinned:
            choice = choose_image(kind, svc.version, mode, images_on(engine))
            svc = replace(svc, image=choice.image)
            choices.append((svc.name, choice))
        services.append(svc)
    # [deploy] is read only when the stack has an api: a stack without one never trips on it.
    replicas = project.deploy.local_replicas if spec.service("api") else 1
    _check_replica_ports(spec, replicas, project.loaded.file or "dockyard.toml")
    return Stack(project, replace(spec, services=tuple(services)), compose_project(project),
                 tuple(choices), _warnings(project, spec), replicas)


def _check_replica_ports(spec: StackSpec, replicas: int, file: str) -> None:
    """The api's replicas take one host port each, from its port up: none may be another
    service's (the spec's own check only knows one port per service)."""
    api = spec.service("api")
    if api is None or replicas < 2:
        return
    for p in api.ports:
        taken = range(p.port, p.port + replicas)
        for svc in spec.services:
            clash = next((q for q in svc.ports if svc is not api and q.port in taken
                          and (q.host == p.host or "0.0.0.0" in (q.host, p.host))), None)
            if clash:
                raise UserError(f"{p.key}: its {replicas} replicas ([deploy] replicas) take "
                                f"ports {p.port}-{taken[-1]}, and {clash.key} publishes "
                                f"{clash.port}",
                                hint=f"move one of them in {file}")


def _warnings(project: Project, spec: StackSpec) -> tuple[tuple[str, str], ...]:
    """What the stack asks of the project's image that its dependencies do not give."""
    spark = spec.service("spark")
    if spark is None or not (spec.steps or spec.service("lab")):
        return ()
    names = {requirement_name(line) for line in project.spec.requirements}
    packages = set(project.spec.system_packages)
    if "pyspark" in names and packages & {"default-jre-headless", "openjdk-17-jre-headless"}:
        return ()
    return ((f"the lab and the steps submit to Spark {spark.version} only with pyspark and a "
             "Java runtime in the project's image",
             f"add pyspark=={spark.version} to requirements.txt and default-jre-headless to "
             "apt.txt"),)


@dataclass(frozen=True)
class Written:
    changed: tuple[str, ...]
    env_added: tuple[str, ...]
    notes: tuple[str, ...]


def write_stack(stack: Stack, force: bool = False) -> Written:
    """compose.yaml (never over a user's file without force), the .env it refers to, and the
    ignore rules that keep .env out of git and images. Refuses before writing anything."""
    root = stack.project.root
    artifacts = [compose_artifact(stack.spec, stack.context)]
    check_writable(root, artifacts, force)
    for rel in (envfile.ENV_FILE, ".gitignore", ".dockerignore"):
        files.check_target(root, rel)
    for folder in stack.context.data_dirs:
        files.check_target(root, folder.strip("/"), folder=True)
    changed = write_artifacts(root, artifacts, force)
    added = _write_env(stack)
    notes = [*envfile.ensure_ignored(root, ".gitignore", None),
             *envfile.ensure_ignored(root, ".dockerignore", dockerignore(
                 stack.project.spec, stack.project.credential_files()))]
    for folder in stack.context.data_dirs:  # a bind volume needs its folder to exist
        files.make_dirs(root, folder.strip("/"))
    if added:
        changed.append(envfile.ENV_FILE)
    return Written(tuple(changed), tuple(added), tuple(notes))


def check_compose(engine: Engine, stack: Stack) -> str:
    """Compose's own check of the written file (`docker compose config`, .env included):
    what to say about it, or a UserError naming what it rejects. Without docker or the
    plugin the file stays written, unchecked."""
    try:
        dc.ensure_available(engine)
    except (UserError, EngineError) as exc:
        return f"not checked with docker compose config ({exc.message})"
    rejected = dc.check(engine, stack.compose)
    if rejected:
        raise UserError(f"docker compose config rejects the stack: {rejected}",
                        hint="fix what it names (a line of .env, or dockyard.toml), then "
                             "run `dockyard compose` again")
    return "docker compose config: ok"


def _write_env(stack: Stack) -> list[str]:
    wanted = env_secrets(stack.spec)
    if stack.spec.service("lab"):
        wanted.append("JUPYTER_TOKEN")
    if stack.uses_project_image:
        wanted += ["DOCKYARD_UID", "DOCKYARD_GID"]
    return envfile.write_env(stack.project.root, wanted)


def env_values(stack: Stack) -> dict[str, str]:
    return envfile.read_env(stack.project.root)


def ensure_ours(stack: Stack) -> None:
    """`up` and `pipeline run` rewrite compose.yaml: never over a file the user wrote."""
    if stack.compose.file.exists() and not is_generated(stack.compose.file):
        raise UserError("compose.yaml was not written by dockyard, and dockyard only runs the "
                        "file it generates from dockyard.toml",
                        hint="run yours with `docker compose up`, or replace it: "
                             "`dockyard compose --force`")


def prepare(engine: Engine, stack: Stack, *, no_build: bool = False,
            on_line: Lines = None) -> Written:
    """Everything `up` and `pipeline run` need before Compose starts: the files, the project's
    images (brought up to date unless `no_build`) and every service image (pulled, or a hint
    to build it)."""
    ensure_ours(stack)
    dc.ensure_available(engine)
    written = write_stack(stack)
    if stack.uses_project_image:
        ensure_project_image(engine, stack.project, no_build=no_build, on_line=on_line)
    if stack.api is not None:
        ensure_serving_image(engine, stack.project, stack.api, no_build=no_build, on_line=on_line)
    for svc in stack.spec.services:
        if CATALOG[svc.kind].role == "data":
            ensure_image(engine, CATALOG[svc.kind], svc.image)
    return written


def ensure_project_image(engine: Engine, project: Project, *, no_build: bool = False,
                         on_line: Lines = None) -> str:
    """The project's image under the name compose.yaml uses: brought up to date through the
    build cache, or with `no_build` this folder's newest image (found by label) as it is."""
    image, _ = current_image(engine, project, build=not no_build, on_line=on_line)
    if no_build:  # a build tags project.image itself; the newest image may carry another name
        engine.docker("tag", image, project.image)
    return project.image


def ensure_serving_image(engine: Engine, project: Project, api: ServiceSpec, *,
                         no_build: bool = False,
                         on_line: Lines = None) -> str:
    """The same for the serving image (`dockyard serve`'s build) the api service runs."""
    tag = serve_image(project)
    if no_build:
        engine.docker("tag", latest_serving_image(engine, project), tag)
        return tag
    build_serving(engine, project, ServeTarget(api.model, api.predictor), tag=tag, on_line=on_line)
    return tag


def long_running(stack: Stack, gpu: bool) -> tuple[list[str], list[str]]:
    """Compose services `up` starts, and those left out because they need a GPU."""
    start: list[str] = []
    skipped: list[str] = []
    for svc in stack.spec.services:
        names = [svc.name, f"{svc.name}-worker"] if svc.kind == "spark" else [svc.name]
        (skipped if svc.gpu and not gpu else start).extend(names)
    return start, skipped


def check_ports(engine: Engine, stack: Stack, services: list[str]) -> None:
    running = {s.service for s in dc.states(engine, stack.compose) if s.state == "running"}
    for svc in stack.spec.services:
        if svc.name not in services or svc.name in running:
            continue
        for p in svc.ports:
            replicated = stack.replicas(svc) > 1
            for number in range(p.port, p.port + stack.replicas(svc)):
                if not port_free(p.host, number):
                    extra = (f"; its {stack.replicas(svc)} replicas take ports {p.port}-"
                             f"{p.port + stack.replicas(svc) - 1}") if replicated else ""
                    raise UserError(f"port {number} on {p.host} is already in use "
                                    f"({p.key}{extra})",
                                    hint=f"set {p.key.rsplit('.', 1)[-1]} = <a free port> in "
                                         f"[services.{svc.name}], or stop what uses it")


def start_stack(engine: Engine, stack: Stack, *, no_build: bool = False, timeout: int = 300,
                on_line: Lines = None, on_build_line: Lines = None
                ) -> tuple[list[str], list[str]]:
    """`up`: start the long-running services and wait until each is healthy."""
    prepare(engine, stack, no_build=no_build, on_line=on_build_line)
    start, skipped = long_running(stack, dc.engine_has_gpu(engine))
    if not start:
        raise UserError("the stack has no service to start (only GPU services, or only steps)",
                        hint="pipeline steps run with `dockyard pipeline run`")
    check_ports(engine, stack, start)
    result = dc.up(engine, stack.compose, start, wait_timeout=timeout, on_line=on_line)
    if result.returncode != 0:
        raise failure(engine, stack, start, result.stdout)
    return start, skipped


def follow_then_stop(engine: Engine, stack: Stack) -> None:
    """The stack's logs on the terminal until Ctrl-C; then the stack stops (volumes kept)."""
    try:
        dc.follow_logs(engine, stack.compose, [], follow=True, tail="0")
    except KeyboardInterrupt:
        pass
    finally:
        dc.stop(engine, stack.compose)


def failure(engine: Engine, stack: Stack, services: list[str], output: str) -> EngineError:
    """The first service that is unhealthy or stopped, with the tail of its log."""
    bad = [s for s in dc.states(engine, stack.compose) if s.service in services
           and (s.health == "unhealthy" or s.state in ("exited", "dead", "restarting"))]
    if not bad:
        last = (output.strip().splitlines() or ["docker compose up failed"])[-1]
        return EngineError(f"the stack did not start: {last}", stderr_tail=output[-2000:],
                           hint="rerun with -v to see every engine command")
    first = bad[0]
    state = "unhealthy" if first.health == "unhealthy" else f"{first.state}, exit code " \
                                                            f"{first.exit_code}"
    hint = (f"its last log lines are above (all of them: dockyard logs {first.service}); fix "
            "the cause and run `dockyard up` again")
    if dc.oom_killed(engine, first.container):
        spark = stack.spec.service("spark")
        key, table = "memory", first.service
        if spark and first.service == f"{spark.name}-worker":  # its limit follows worker_memory
            key, table = "worker_memory", spark.name
        state = "killed: out of memory"
        hint = f"give it more: {key} = \"4g\" in [services.{table}]"
    return EngineError(f"service {first.service} did not become healthy ({state})",
                       stderr_tail=dc.logs_tail(engine, stack.compose, first.service, 25),
                       hint=hint)


def endpoints(stack: Stack) -> list[tuple[str, str]]:
    """(service, what to open or connect to) for every published port."""
    token = env_values(stack).get("JUPYTER_TOKEN", "")
    found = []
    for svc in stack.spec.services:
        for p in svc.ports:
            shown = "127.0.0.1" if p.host in ("0.0.0.0", "") else p.host
            where = _endpoint(svc, shown, p.port, p.target, token)
            n = stack.replicas(svc)
            if n > 1:  # one host port per replica; on the stack network: http://api:8080
                where += f" … :{p.port + n - 1} ({n} replicas, one port each)"
            found.append((svc.name, where))
    return found


def _endpoint(svc: ServiceSpec, host: str, port: int, target: int, token: str) -> str:
    if svc.kind == "lab":
        return f"http://{host}:{port}/lab?token={token}"
    if svc.kind == "postgres":
        return f"postgresql://{svc.user}@{host}:{port}/{svc.database} (password: .env)"
    if svc.kind == "redis":
        return f"redis://{host}:{port} (password: .env)"
    if svc.kind == "minio" and target == 9000:
        return f"http://{host}:{port} (S3 API)"
    return f"http://{host}:{port}"


@dataclass(frozen=True)
class Teardown:
    removed_volumes: tuple[str, ...]
    kept_volumes: tuple[str, ...]


def ensure_ours_to_delete(compose: dc.ComposeProject) -> None:
    """`down --volumes` deletes what compose.yaml declares: only when dockyard wrote it."""
    if compose.file.exists() and not is_generated(compose.file):
        raise UserError("compose.yaml was not written by dockyard: `down --volumes` would "
                        "delete the volumes it declares, which may hold your data",
                        hint="run `dockyard down` without --volumes, or delete them yourself "
                             "with `docker compose down --volumes`")


def stop_stack(engine: Engine, compose: dc.ComposeProject, *, volumes: bool,
               on_line: Lines = None) -> Teardown:
    """`down`: containers and network go; volumes only with `volumes=True`, and then the
    result says exactly which: every volume of the project or of the file that existed before
    and does not after."""
    if volumes:
        ensure_ours_to_delete(compose)
    dc.ensure_available(engine)
    candidates = sorted({*dc.project_volumes(engine, compose.name),
                         *dc.declared_volumes(engine, compose)})
    before = dc.existing_volumes(engine, candidates)
    dc.down(engine, compose, volumes=volumes, on_line=on_line)
    after = dc.existing_volumes(engine, candidates)
    removed = tuple(v for v in before if v not in after)
    return Teardown(removed, tuple(after))
