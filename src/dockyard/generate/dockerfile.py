"""Render the project's Dockerfile from the resolved spec.

The logic lives in `DockerfileView`; the Jinja template only loops and prints. Every interpolated
value goes through the `q` filter (POSIX shell quoting), so a package name such as
`foo$(touch /tmp/pwned)` stays a literal string.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, replace
from importlib import resources

import jinja2

from dockyard import __version__
from dockyard.generate.artifacts import header
from dockyard.generate.indexes import INDEX_SECRET, indexes_for
from dockyard.plan.defaults import API_PORT, LAB_PORT, WORKDIR, lab_command, lab_health_url
from dockyard.spec import Spec

UV_VERSION = "0.13.8"
REQUIREMENTS_FILE = ".dockyard/requirements.txt"
LOCK_FILE = "dockyard.lock"
SERVE_REQUIREMENTS_FILE = ".dockyard/serve-requirements.txt"
SERVE_RUNTIME_DIR = ".dockyard/serve"
# Compilers for sdists; only in the builder stage, so they never reach the image.
BUILDER_APT = ("build-essential",)
ENTRYPOINT = ("dumb-init", "--")
# Binder's start wraps every command the image runs; -I -S: the wrapper needs only the stdlib.
BINDER_RUNNER = "/opt/dockyard/runtime/binder.py"
START_WRAPPER = ("python3", "-I", "-S", BINDER_RUNNER, "start")


@dataclass(frozen=True)
class DockerfileView:
    base_image: str
    builder_apt: tuple[str, ...]
    runtime_apt: tuple[str, ...]
    uv_requirement: str
    deps_file: str
    uv_args: tuple[str, ...]
    uid: int
    port: int
    labels: tuple[str, ...]  # key=value, value already quoted
    cmd: str
    gpu: bool
    header: str
    role_env: tuple[str, ...]  # KEY=value, value already quoted
    serve_runtime: bool
    install_project: str  # "" or the file that makes the project a package
    index_args: tuple[str, ...]  # uv's index options, for installing the project
    post_build: str = ""  # Binder's postBuild, path inside the image; "" when absent
    start: str = ""  # Binder's start, path inside the image; "" when absent
    entrypoint: str = '["dumb-init", "--"]'  # JSON exec form
    index_secret: str = ""  # the BuildKit secret holding the indexes, when they carry credentials


@dataclass(frozen=True)
class ServeRole:
    """What makes a serving image differ from the lab image; `None` means the lab image."""

    model: str  # path inside the project, or ""
    predictor: str  # module:Class, or ""
    deps_file: str = SERVE_REQUIREMENTS_FILE


def view_for(spec: Spec, *, pinned: str = "", from_source: bool = False,
             base_image: str = "", serve: ServeRole | None = None) -> DockerfileView:
    """`pinned`: a file of pins with hashes to install exactly (dockyard.lock, or the implicit
    lock a build resolves); "" installs the declared requirements. `from_source`: a pinned
    package has no wheel for the image, so the builder needs compilers."""
    if serve is not None:
        return _serve_view(view_for(spec, base_image=base_image), spec, serve)
    uv_args: list[str] = ["--require-hashes --no-deps"] if pinned else []
    indexes = indexes_for(spec)
    uv_args += indexes.uv_args()
    return DockerfileView(
        base_image=base_image or spec.base_image or spec.default_base_image,
        builder_apt=_builder_apt(spec, from_source),
        runtime_apt=spec.system_packages,
        uv_requirement=f"uv=={UV_VERSION}",
        deps_file=pinned or REQUIREMENTS_FILE,
        uv_args=tuple(uv_args),
        uid=spec.uid,
        port=LAB_PORT,
        labels=tuple(f"{key}={shlex.quote(value)}" for key, value in (
            ("org.opencontainers.image.title", spec.name),
            ("org.opencontainers.image.description", f"{spec.name}, built by dockyard"),
            ("dev.dockyard.version", __version__),
            ("dev.dockyard.python", spec.python),
        )),
        cmd=json.dumps(list(lab_command())),
        gpu=spec.gpu,
        header=header(),
        role_env=(f"DOCKYARD_HEALTH_URL={lab_health_url()}",),
        serve_runtime=False,
        install_project=spec.install_project,
        index_args=tuple(indexes.uv_args()),
        post_build=_in_image(spec.post_build),
        start=_in_image(spec.start),
        entrypoint=json.dumps([*ENTRYPOINT, *(START_WRAPPER if spec.start else ())]),
        index_secret=INDEX_SECRET if indexes.secret else "",
    )


def _in_image(rel: str) -> str:
    return f"{WORKDIR}/{rel}" if rel else ""


def _serve_view(lab: DockerfileView, spec: Spec, role: ServeRole) -> DockerfileView:
    """The serving image: same layers up to the code, the server instead of JupyterLab."""
    env = [f"DOCKYARD_HEALTH_URL=http://127.0.0.1:{API_PORT}/health",
           "PYTHONPATH=/opt/dockyard/runtime"]
    if role.model:
        env.append(f"DOCKYARD_MODEL={shlex.quote('/workspace/' + role.model)}")
        if spec.serve.sha256:  # checked again by the server, wherever the image runs
            env.append(f"DOCKYARD_MODEL_SHA256={spec.serve.sha256}")
    if role.predictor:
        env.append(f"DOCKYARD_PREDICTOR={shlex.quote(role.predictor)}")
    return replace(lab, deps_file=role.deps_file, port=API_PORT,
                   cmd=json.dumps(["python", "-m", "dockyard_serve"]), role_env=tuple(env),
                   serve_runtime=True)


def _builder_apt(spec: Spec, from_source: bool) -> tuple[str, ...]:
    """Compilers when asked for, when apt.txt's -dev packages say C is coming, or when the
    resolution found a package with no wheel for the image. Otherwise none: most data-science
    packages ship wheels, and apt costs a cold build ~20 s. Never as a retry after a failure:
    that only doubled the time to an error that had another cause."""
    dev = tuple(p for p in spec.system_packages if p.endswith("-dev"))
    if spec.compilers is False:
        return ()
    return BUILDER_APT + dev if spec.compilers or dev or from_source else ()


def render_dockerfile(view: DockerfileView) -> str:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, autoescape=False,
    )
    env.filters["q"] = lambda value: shlex.quote(str(value))
    source = resources.files("dockyard.generate").joinpath("templates/Dockerfile.j2").read_text()
    return env.from_string(source).render(**view.__dict__)


