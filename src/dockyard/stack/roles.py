"""Compose definitions of the project's own containers: lab, api, dashboard and pipeline steps.

They run the project's image with the project folder mounted at /workspace (edits and outputs
land on the host, as with `dockyard run`), as the folder's owner (DOCKYARD_UID/GID in .env),
with every capability dropped, and the stack's connection settings in their environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.spec.stack import ServiceSpec, StackSpec, StepSpec
from dockyard.stack import parts
from dockyard.stack.catalog import FRAMEWORKS
from dockyard.stack.parts import Doc, ref
from dockyard.stack.services import client_env

LAB_PORT = 8888
API_PORT = 8080
PIPELINE_PROFILE = "pipeline"
GPU_PROFILE = "gpu"


@dataclass(frozen=True)
class ProjectContext:
    """What the project's containers need besides the stack: images, labels, data folders."""

    image: str  # the lab image (`dockyard build`): lab, dashboard, steps
    serve_image: str  # the serving image (`dockyard serve`'s build): api
    key: str
    data_dirs: tuple[str, ...] = ()


def data_volume(folder: str) -> str:
    return "data" if folder.strip("/") == "data" else "data-" + folder.strip("/").replace("/", "-")


def _base(ctx: ProjectContext, stack: StackSpec, role: str, image: str = "",
          read_only: bool = False, default_image: str = "") -> Doc:
    mounts: list[Doc] = [{"type": "bind", "source": ".", "target": parts.WORKDIR,
                          **({"read_only": True} if read_only else {})}]
    mounts += [{"type": "volume", "source": data_volume(d),
                "target": f"{parts.WORKDIR}/{d.strip('/')}"} for d in ctx.data_dirs]
    doc: Doc = {"image": image or default_image or ctx.image}
    if not image:
        doc["pull_policy"] = "never"  # built by dockyard, found on no registry
    doc |= {"user": "${DOCKYARD_UID:-1000}:${DOCKYARD_GID:-1000}",
            "working_dir": parts.WORKDIR, "environment": {"HOME": "/tmp", **client_env(stack)},
            "volumes": mounts, "cap_drop": ["ALL"]}
    depends = {s.name: {"condition": "service_healthy"} for s in stack.services
               if s.kind in ("postgres", "redis", "minio", "mlflow", "spark")}
    if depends:
        doc["depends_on"] = depends
    return doc | parts.common(ctx.key, role)


def _long_running(svc: ServiceSpec, doc: Doc, health_url: str) -> Doc:
    doc["restart"] = "unless-stopped"
    doc["environment"] |= {"DOCKYARD_HEALTH_URL": health_url, **parts.env_doc(svc.env)}
    doc["healthcheck"] = parts.healthcheck(["CMD", "python3", parts.HEALTH_SCRIPT])
    if svc.gpu:
        doc["profiles"] = [GPU_PROFILE]  # the rest of the stack starts without a GPU
    return parts.finish(doc, deploy_doc=parts.deploy(svc.resources, gpu=svc.gpu),
                        published=svc.ports)


def project_role(svc: ServiceSpec, stack: StackSpec, ctx: ProjectContext) -> Doc:
    build = {"lab": _lab, "api": _api, "dashboard": _dashboard}[svc.kind]
    return build(svc, stack, ctx)


def _lab(svc: ServiceSpec, stack: StackSpec, ctx: ProjectContext) -> Doc:
    doc = _base(ctx, stack, "lab", svc.image)
    # --allow-root only matters when the folder's owner is root (caps are dropped anyway).
    doc["command"] = [parts.literal(a) for a in svc.command] or [
        "jupyter", "lab", "--ip=0.0.0.0", f"--port={LAB_PORT}", "--no-browser",
        f"--ServerApp.root_dir={parts.WORKDIR}", "--allow-root"]
    doc["environment"]["JUPYTER_TOKEN"] = ref("JUPYTER_TOKEN")
    return _long_running(svc, doc, f"http://127.0.0.1:{LAB_PORT}/api")


def _api(svc: ServiceSpec, stack: StackSpec, ctx: ProjectContext) -> Doc:
    # The serving image carries the server and its requirements; the project is mounted
    # read-only over its copy of the code, so the predictor the stack runs is the current one.
    doc = _base(ctx, stack, "api", svc.image, read_only=True, default_image=ctx.serve_image)
    doc["command"] = ["python", "-m", "dockyard_serve"]
    env = {"DOCKYARD_HOST": "0.0.0.0", "DOCKYARD_PORT": str(API_PORT)}
    if svc.model:
        env["DOCKYARD_MODEL"] = parts.literal(f"{parts.WORKDIR}/{svc.model}")
    if svc.predictor:
        env["DOCKYARD_PREDICTOR"] = parts.literal(svc.predictor)
    if svc.workers:
        env["DOCKYARD_WORKERS"] = str(svc.workers)
    # The API key comes from .env (never this file): set DOCKYARD_API_KEY there to require it.
    env["DOCKYARD_API_KEY"] = "${DOCKYARD_API_KEY:-}"
    doc["environment"] |= env
    doc["read_only"] = True  # like `dockyard serve`: the server writes nothing but /tmp
    doc["tmpfs"] = ["/tmp"]
    return _long_running(svc, doc, f"http://127.0.0.1:{API_PORT}/ready")


def _dashboard(svc: ServiceSpec, stack: StackSpec, ctx: ProjectContext) -> Doc:
    framework = FRAMEWORKS[svc.framework]
    host_port = svc.ports[0].port if svc.ports else framework.port
    values = {"app": svc.app, "port": str(framework.port), "host_port": str(host_port)}
    doc = _base(ctx, stack, "dashboard", svc.image)
    doc["command"] = [parts.literal(a.format(**values))
                      for a in (svc.command or framework.command)]
    doc["environment"] |= {k: v.format(**values) for k, v in framework.env}
    return _long_running(svc, doc, f"http://127.0.0.1:{framework.port}{framework.health}")


def retry_command(step: StepSpec) -> list[str]:
    """The step's command, retried in its container: Compose restarts would race its own
    `service_completed_successfully` check, a loop in the container does not."""
    command = [parts.literal(a) for a in step.command]
    if not step.retries:
        return command
    script = (f"n=0; while :; do \"$$@\" && exit 0; s=$$?; n=$$((n+1)); "
              f"if [ $$n -gt {step.retries} ]; then exit $$s; fi; "
              f"echo \"dockyard: {step.name} failed (exit $$s), retry $$n of {step.retries} "
              f"in $$((n*2))s\" >&2; sleep $$((n*2)); done")
    return ["sh", "-c", script, step.name, *command]


def pipeline_step(step: StepSpec, stack: StackSpec, ctx: ProjectContext) -> Doc:
    doc = _base(ctx, stack, "step")
    doc["command"] = retry_command(step)
    doc["restart"] = "no"
    doc["profiles"] = [GPU_PROFILE if step.gpu else PIPELINE_PROFILE]
    doc["environment"] |= {"DOCKYARD_STEP": step.name, **parts.env_doc(step.env)}
    depends: Doc = dict(doc.get("depends_on", {}))
    depends |= {name: {"condition": "service_completed_successfully"} for name in step.after}
    if depends:
        doc["depends_on"] = depends
    return parts.finish(doc, deploy_doc=parts.deploy(step.resources, gpu=step.gpu),
                        published=())
