"""`dockyard serve` and `dockyard predict`: the project's model behind the REST server."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard.app.building import BaseChoice, build_logged, choose_base, image_labels
from dockyard.app.context import Project, resolve_ca_cert
from dockyard.app.running import port_free
from dockyard.engine import containers as ctr
from dockyard.engine._cmd import Engine
from dockyard.engine.images import (
    LABEL_PROJECT,
    LABEL_ROLE,
    BuildRequest,
    BuildResult,
    latest_image,
)
from dockyard.engine.ready import HttpReady
from dockyard.errors import UserError
from dockyard.generate import ServeRole, build_artifacts, write_artifacts
from dockyard.generate.serving import serve_artifacts, serve_requirements
from dockyard.naming import local_image
from dockyard.plan import project as plan

SERVE_DOCKERFILE = ".dockyard/Dockerfile.serve"
SERVE_IGNORE = ".dockyard/Dockerfile.serve.dockerignore"


@dataclass(frozen=True)
class ServeTarget:
    model: str  # relative path inside the project, or ""
    predictor: str


def choose_target(project: Project, model: str | None, predictor: str | None) -> ServeTarget:
    """--model / --predictor, then [serve] in the spec, then the one model file detected."""
    spec_serve = project.spec.serve
    predictor = predictor or spec_serve.predictor
    chosen = model or spec_serve.model
    if not chosen and not predictor:
        found = project.detection.models
        hint = ("pass --model PATH or --predictor module:Class (or set [serve] model in "
                "dockyard.toml)")
        if found:
            raise UserError(f"several model files found: {', '.join(found)}", hint=hint)
        raise UserError("no model to serve was found in the project", hint=hint)
    rel = _inside(project.root, chosen) if chosen else ""
    _check_pin(project, rel)
    return ServeTarget(rel, predictor or "")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_pin(project: Project, model: str) -> None:
    """`[serve] sha256` pins the model file: anything else is refused before it is built in."""
    pinned = project.spec.serve.sha256
    if not pinned:
        return
    if not model:
        raise UserError("[serve] sha256 pins a model file, but no model file is served",
                        hint="set [serve] model (or pass --model), or remove sha256")
    actual = file_sha256(project.root / model)
    if actual != pinned:
        raise UserError(f"model file {model} does not match [serve] sha256 in "
                        f"{project.spec.spec_file or 'dockyard.toml'} (expected {pinned[:12]}…, "
                        f"got {actual[:12]}…)",
                        hint=f"if you replaced it on purpose, pin the new file: "
                        f'sha256 = "{actual}"; if not, find out who changed it before serving it')


def trust_note(project: Project, target: ServeTarget) -> str:
    """What `serve` says about trusting the model: a pickle runs code when it is loaded."""
    if not target.model or Path(target.model).suffix.lower() in (".onnx", ".json", ".ubj",
                                                                  ".txt"):
        return ""
    if project.spec.serve.sha256:
        return f"{target.model} is pinned by [serve] sha256 (checked again when the server starts)"
    digest = file_sha256(project.root / target.model)
    return (f"loading {target.model} runs code stored in it (pickle): serve only models you "
            f'trust, and pin this one with [serve] sha256 = "{digest}" in dockyard.toml')


def _inside(root: Path, path: str) -> str:
    full = (root / path).resolve()
    if not full.is_file():
        raise UserError(f"model file {path!r} not found", hint="give a path inside the project")
    try:
        return full.relative_to(root).as_posix()
    except ValueError:
        raise UserError(f"model file {path!r} is outside the project folder",
                        hint="move it into the project (models/ is a good place)") from None


@dataclass(frozen=True)
class ServeBuild:
    result: BuildResult
    base: BaseChoice
    target: ServeTarget
    requirements: tuple[str, ...]


def latest_serving_image(engine: Engine, project: Project) -> str:
    """This folder's newest serving image, as it is (`serve --no-build`)."""
    found = latest_image(engine, (LABEL_PROJECT, project.spec.project_key),
                         (LABEL_ROLE, "serve"))
    if not found:
        raise UserError("no serving image has been built for this project",
                        hint="run `dockyard serve` without --no-build first")
    return found


def build_serving(engine: Engine, project: Project, target: ServeTarget, *, tag: str = "",
                  base: str | None = None, ca_cert: str | None = None,
                  on_line: Callable[[str], None] | None = None) -> ServeBuild:
    pins = _model_pins(project, target)
    requirements = serve_requirements(project.spec, pins, target.model)
    role = ServeRole(target.model, target.predictor)
    artifacts = build_artifacts(project.spec, dockerfile=SERVE_DOCKERFILE,
                                ignore=SERVE_IGNORE, serve=role,
                                serve_files=tuple(serve_artifacts(requirements)),
                                credential_files=project.credential_files())
    write_artifacts(project.root, artifacts, force=True)
    choice = choose_base(engine, project, base)
    request = BuildRequest(
        context=project.root, dockerfile=project.root / SERVE_DOCKERFILE,
        tag=tag or local_image(f"{project.spec.name}-serve"), base_image=choice.image,
        labels=(*image_labels(project, choice), (LABEL_ROLE, "serve")),
        ca_cert=resolve_ca_cert(ca_cert), secrets=project.index_secrets(),
    )
    return ServeBuild(build_logged(engine, project, request, on_line), choice, target,
                      tuple(requirements))


def _model_pins(project: Project, target: ServeTarget) -> list[str]:
    """What the model file needs installed, read from its bytes (never unpickled here)."""
    from dockyard.runtime.serve.dockyard_serve.inspect_model import (
        DecompressionBomb,
        model_requirements,
    )

    if not target.model:
        return []
    try:
        return model_requirements(project.root / target.model)
    except DecompressionBomb as exc:
        raise UserError(str(exc), hint="save the model again with joblib.dump(model, path) "
                        "or compress=3 (zlib)") from None


@dataclass(frozen=True)
class ServeSession:
    container: str
    name: str
    url: str
    seconds_to_ready: float


def start_serving(engine: Engine, project: Project, image: str, *, port: int | None = None,
                  host: str = "127.0.0.1", workers: int | None = None,
                  image_id: str = "", timeout: float = 120) -> ServeSession:
    port = port or project.spec.serve.port
    name = plan.container_name(project.spec.project_key, "serve")
    if ctr.is_running(engine, name):
        raise UserError(f"the model server is already running for this project ({name})",
                        hint="`dockyard stop` first, or use it as it is")
    if not port_free(host, port):
        raise UserError(f"port {port} is already in use on {host}",
                        hint=f"pick another one: dockyard serve --port {port + 1}")
    ctr.stop(engine, name, timeout=1)
    # The key reaches the container's environment only: never the image, nor an argv.
    api_key = os.environ.get("DOCKYARD_API_KEY", "")
    workload = plan.serve_workload(
        project.spec.project_key, image, port=port, host=host, api_key=bool(api_key),
        env=(*_server_env(project, workers), ("DOCKYARD_IMAGE_ID", image_id or image)))
    container = ctr.start(engine, workload, {"DOCKYARD_API_KEY": api_key} if api_key else {})
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    try:
        seconds = HttpReady(f"{url}/ready", timeout=timeout).wait(container, engine)
    except Exception:
        ctr.stop(engine, container, timeout=1)
        raise
    return ServeSession(container[:12], name, url, seconds)


def _server_env(project: Project, workers: int | None) -> tuple[tuple[str, str], ...]:
    s = project.spec.serve
    env = [("DOCKYARD_MAX_BATCH", str(s.max_batch)), ("DOCKYARD_MAX_WAIT_MS", str(s.max_wait_ms))]
    if workers or s.workers:
        env.append(("DOCKYARD_WORKERS", str(workers or s.workers)))
    return tuple(env)


def serving_url(engine: Engine, project: Project) -> str:
    """Where this project's model server listens, from the running container's port."""
    name = f"dockyard-{project.spec.project_key}-serve"
    for info in ctr.list_containers(engine, project.spec.project_key):
        if info.name == name and "->" in info.ports:
            host_part = info.ports.split("->")[0].split(",")[0].strip()
            return f"http://{host_part}"
    raise UserError("no model server is running for this project",
                    hint="start one with `dockyard serve --detach`, or pass --url")


def predict(url: str, data: Path, proba: bool = False) -> dict[str, object]:
    body, content_type = _request_body(data)
    query = "?proba=true" if proba else ""
    request = urllib.request.Request(f"{url.rstrip('/')}/predict{query}", data=body,
                                     headers={"Content-Type": content_type}, method="POST")
    if os.environ.get("DOCKYARD_API_KEY"):
        request.add_header("X-API-Key", os.environ["DOCKYARD_API_KEY"])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=60) as response:
            answer: dict[str, object] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise UserError(f"the server answered {exc.code}: {detail}",
                        hint="check the input's features against GET /docs") from None
    except OSError as exc:
        raise UserError(f"cannot reach {url}: {exc}",
                        hint="is the server running? `dockyard serve --detach`") from None


def _request_body(data: Path) -> tuple[bytes, str]:
    if not data.is_file():
        raise UserError(f"input file {str(data)!r} not found", hint="pass --data FILE.json|csv")
    raw = data.read_bytes()
    if data.suffix.lower() == ".csv":
        return raw, "text/csv"
    if data.suffix.lower() != ".json":
        raise UserError(f"cannot send {data.name}: only .json and .csv inputs are understood",
                        hint="convert it to CSV with a header row, or to JSON records")
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(f"{data.name} is not valid JSON: {exc}", hint="fix the file") from None
    if isinstance(doc, list):  # a bare list of records is the common export format
        doc = {"instances": doc}
    return json.dumps(doc).encode(), "application/json"
