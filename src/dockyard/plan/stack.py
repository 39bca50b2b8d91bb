"""The stack as Workloads: data services, the project's roles (lab, api, dashboard) and the
pipeline's steps, in the order the Compose file lists them.

The project's containers run the project's image with the project folder mounted at
/workspace (edits and outputs land on the host, as with `dockyard run`), as the folder's owner,
with every capability dropped, and the stack's connection settings in their environment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dockyard.plan.defaults import (
    API_PORT,
    DROP_ALL,
    GPU_PROFILE,
    PIPELINE_PROFILE,
    WORKDIR,
    data_mounts,
    health_probe,
    lab_command,
    lab_health_url,
    project_mount,
)
from dockyard.plan.notebook import NotebookJob, executed_copy, notebook_argv
from dockyard.plan.services import DATA_KINDS, client_env, data_workloads, published_ports
from dockyard.spec.catalog import FRAMEWORKS
from dockyard.spec.stack import ServiceSpec, StackSpec, StepSpec
from dockyard.workload import (
    Dependency,
    Resources,
    User,
    Workload,
    env,
    merge_env,
    merge_named,
    plain_env,
    secret_env,
)


@dataclass(frozen=True)
class ProjectContext:
    """What the project's containers need besides the stack: images, labels, data folders."""

    image: str  # the lab image (`dockyard build`): lab, dashboard, steps
    serve_image: str  # the serving image (`dockyard serve`'s build): api
    key: str
    data_dirs: tuple[str, ...] = ()
    api_replicas: int = 1  # `[deploy] replicas` tried on one machine (DeploySpec.local_replicas)


def stack_workloads(stack: StackSpec, ctx: ProjectContext) -> tuple[Workload, ...]:
    """Every container of the stack: services in catalog order, then steps in run order."""
    workloads: list[Workload] = []
    for svc in stack.services:
        if svc.kind in DATA_KINDS:
            workloads += data_workloads(svc, stack, ctx.key)
        else:
            workloads.append(project_role(svc, stack, ctx))
    workloads += [pipeline_step(step, stack, ctx) for step in stack.steps]
    return tuple(workloads)


def _base(ctx: ProjectContext, stack: StackSpec, name: str, role: str, image: str = "",
          read_only: bool = False) -> Workload:
    return Workload(
        name=name, role=role, project=ctx.key, image=image or ctx.image,
        local_image=not image,  # built by dockyard, found on no registry
        user=User(), workdir=WORKDIR,
        env=(env("HOME", "/tmp"), *client_env(stack)),
        mounts=(project_mount(".", read_only), *data_mounts(ctx.data_dirs)),
        drop_caps=DROP_ALL,
        depends_on=tuple(Dependency(s.name) for s in stack.services if s.kind in DATA_KINDS),
    )


def _long_running(svc: ServiceSpec, w: Workload, health_url: str) -> Workload:
    return replace(
        w, restart="unless-stopped",
        env=merge_env(w.env, (env("DOCKYARD_HEALTH_URL", health_url),), plain_env(svc.env)),
        probe=health_probe(),
        profiles=(GPU_PROFILE,) if svc.gpu else (),  # the rest starts without a GPU
        resources=Resources(svc.resources.cpus, svc.resources.memory, -1 if svc.gpu else 0),
        ports=published_ports(svc),
    )


def project_role(svc: ServiceSpec, stack: StackSpec, ctx: ProjectContext) -> Workload:
    build = {"lab": _lab, "api": _api, "dashboard": _dashboard}[svc.kind]
    return build(svc, stack, ctx)


def _lab(svc: ServiceSpec, stack: StackSpec, ctx: ProjectContext) -> Workload:
    w = _base(ctx, stack, svc.name, "lab", svc.image)
    # The folder's owner may be root: --allow-root (capabilities are dropped anyway).
    w = replace(w, command=svc.command or lab_command(allow_root=True),
                env=(*w.env, secret_env("JUPYTER_TOKEN")))
    return _long_running(svc, w, lab_health_url())


def _api(svc: ServiceSpec, stack: StackSpec, ctx: ProjectContext) -> Workload:
    # The serving image carries the server and its requirements; the project is mounted
    # read-only over its copy of the code, so the predictor the stack runs is the current one.
    w = _base(ctx, stack, svc.name, "api", svc.image, read_only=True)
    if not svc.image:
        w = replace(w, image=ctx.serve_image)
    variables = [env("DOCKYARD_HOST", "0.0.0.0"), env("DOCKYARD_PORT", str(API_PORT))]
    if svc.model:
        variables.append(env("DOCKYARD_MODEL", f"{WORKDIR}/{svc.model}"))
    if svc.predictor:
        variables.append(env("DOCKYARD_PREDICTOR", svc.predictor))
    if svc.workers:
        variables.append(env("DOCKYARD_WORKERS", str(svc.workers)))
    # The API key comes from .env (never a generated file); unset, the server asks for none.
    variables.append(secret_env("DOCKYARD_API_KEY", required=False))
    w = replace(w, command=("python", "-m", "dockyard_serve"),
                env=merge_env(w.env, tuple(variables)), replicas=ctx.api_replicas,
                read_only=True)  # like `dockyard serve`: the server writes nothing but /tmp
    return _long_running(svc, w, f"http://127.0.0.1:{API_PORT}/ready")


def _dashboard(svc: ServiceSpec, stack: StackSpec, ctx: ProjectContext) -> Workload:
    framework = FRAMEWORKS[svc.framework]
    host_port = svc.ports[0].port if svc.ports else framework.port
    values = {"app": svc.app, "port": str(framework.port), "host_port": str(host_port)}
    w = _base(ctx, stack, svc.name, "dashboard", svc.image)
    w = replace(w, command=tuple(a.format(**values) for a in (svc.command or framework.command)),
                env=merge_env(w.env, tuple(env(k, v.format(**values))
                                           for k, v in framework.env)))
    return _long_running(svc, w, f"http://127.0.0.1:{framework.port}{framework.health}")


def pipeline_step(step: StepSpec, stack: StackSpec, ctx: ProjectContext) -> Workload:
    w = _base(ctx, stack, step.name, "step")
    after = tuple(Dependency(name, "completed") for name in step.after)
    return replace(
        w, command=step_command(step), retries=step.retries, restart="no",
        retry_delay=step.retry_delay, timeout=step.timeout,
        profiles=(GPU_PROFILE if step.gpu else PIPELINE_PROFILE,),
        env=merge_env(w.env, (env("DOCKYARD_STEP", step.name),), plain_env(step.env)),
        depends_on=merge_named(w.depends_on, after),
        resources=Resources(step.resources.cpus, step.resources.memory,
                            -1 if step.gpu else 0),
    )



def step_command(step: StepSpec) -> tuple[str, ...]:
    """A step's command; a notebook step runs the notebook runner as `dockyard run NOTEBOOK`
    does (the kernel in the notebook's folder, the executed copy kept in the project), its
    parameters typed as the spec gives them, one cell limited to the step's timeout."""
    if not step.notebook:
        return step.command
    job = NotebookJob(step.notebook, step.output or executed_copy(step.notebook),
                      values=step.parameters, timeout=step.timeout or NotebookJob.timeout)
    return notebook_argv(job)
