"""Resolve the user's spec against detection: every field concrete, with its provenance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TypeVar

from packaging.utils import canonicalize_name

from dockyard.detect import Detection, is_known
from dockyard.errors import SpecError
from dockyard.project import ProjectView
from dockyard.spec import checks
from dockyard.spec.load import LoadedSpec

DEFAULT_PYTHON = "3.11"
DEFAULT_UID = 1000
DEFAULT_LAB_PORT = 8888
DEFAULT_SERVE_PORT = 8080

# Always in the image: JupyterLab for `lab`; papermill (on nbclient) and nbconvert for headless
# notebook runs with parameters and HTML (runtime/run_notebook.py); dumb-init as PID 1; pip for
# `!pip install` in a notebook and in Binder's postBuild (uv installs the image; pip is listed
# here rather than seeded by `uv venv --seed` so it is resolved, locked and fetched from the
# project's own index like everything else). jupyter-server 2.21.1 is the first release without
# published advisories.
RUNTIME_REQUIREMENTS = (
    "dumb-init>=1.2.5",
    "ipykernel>=6.29",
    "jupyter-server>=2.21.1",
    "jupyterlab>=4.2",
    "nbclient>=0.10",
    "nbconvert>=7.16",
    "nbformat>=5.10",
    "papermill>=2.6",
    "pip>=24",
)

# Python 3.9 (past its end of life; Debian bullseye's) has no jupyter-server past 2.18, so there
# the floor is the oldest 2.x JupyterLab 4 accepts; `build` warns about it.
EOL_PYTHONS = ("3.8", "3.9")
EOL_JUPYTER_SERVER = "jupyter-server>=2.4"


def runtime_requirements(python: str) -> tuple[str, ...]:
    if ".".join(python.split(".")[:2]) not in EOL_PYTHONS:
        return RUNTIME_REQUIREMENTS
    return tuple(EOL_JUPYTER_SERVER if r.startswith("jupyter-server") else r
                 for r in RUNTIME_REQUIREMENTS)


@dataclass(frozen=True)
class ServeSpec:
    model: str = ""
    predictor: str = ""
    port: int = DEFAULT_SERVE_PORT
    workers: int = 0  # 0: one per core, decided in the container
    max_batch: int = 64
    max_wait_ms: float = 10.0  # an upper bound: the server never waits longer than a predict
    sha256: str = ""  # the model file's pinned digest (lower-case hex), or ""


@dataclass(frozen=True)
class Spec:
    """The resolved, frozen spec. `provenance` says where each top-level value came from."""

    name: str
    project_key: str
    python: str
    base_image: str  # "" means: the official python:<version>-slim, resolved at build time
    requirements: tuple[str, ...]
    runtime_requirements: tuple[str, ...]
    index_url: str
    extra_index_urls: tuple[str, ...]
    system_packages: tuple[str, ...]
    compilers: bool | None  # None: install them only if a package turns out to need them
    uid: int
    lab_port: int
    lab_host: str
    data_dirs: tuple[str, ...]
    gpu: bool
    gpu_frameworks: tuple[str, ...]
    serve: ServeSpec
    spec_file: str
    # The project itself is installed (editable) when it is a package: the file that says so
    # (pyproject.toml, setup.py), or "". `package_digest` hashes a setup.py, whose dependencies
    # only its build backend can tell, so that editing them resolves again.
    install_project: str = ""
    package_digest: str = ""
    provenance: dict[str, str] = field(default_factory=dict)
    post_build: str = ""  # Binder's postBuild, project-relative; "" when there is none
    start: str = ""  # Binder's start, project-relative; "" when there is none
    install_undeclared: str = "known"  # "known", "all" or "none"

    def installs(self, module: str) -> bool:
        """Whether an undeclared import of `module` is installed (else it is only reported)."""
        return self.install_undeclared == "all" or (
            self.install_undeclared == "known" and is_known(module))

    @property
    def default_base_image(self) -> str:
        return f"python:{self.python}-slim"


T = TypeVar("T")


def _pick(prov: dict[str, str], key: str, default: T, *candidates: tuple[T | None, str]) -> T:
    """The first candidate that is set wins; its source is recorded as the provenance."""
    for value, source in candidates:
        if value is not None and value != "" and value != ():
            prov[key] = source
            return value
    prov[key] = "default"
    return default


def resolve(view: ProjectView, loaded: LoadedSpec, det: Detection) -> Spec:
    """Combine spec file, detection and defaults, recording where each value came from."""
    user, src = loaded.spec, loaded.file or "dockyard.toml"
    prov: dict[str, str] = {}
    detected_python = det.python.version if det.python.source != "default" else None
    python = _pick(prov, "python", DEFAULT_PYTHON, (user.python, src),
                   (detected_python, f"detected: {det.python.source}"))
    return Spec(
        name=_pick(prov, "name", view.name, (user.name, src), (view.name, "project folder")),
        project_key=view.key,
        python=python,
        base_image=_pick(prov, "base_image", "", (user.build.base_image, src)),
        requirements=_requirements(loaded, det, prov, src),
        runtime_requirements=runtime_requirements(python),
        index_url=_pick(prov, "index_url", "", (user.dependencies.index_url, src),
                        (_detected_url(det.index_url), "detected")),
        extra_index_urls=tuple(u for u in user.dependencies.extra_index_urls if u)
        or tuple(_detected_url(u) for u in det.extra_index_urls),
        system_packages=tuple(sorted({*det.system_packages, *user.system.packages})),
        compilers=_pick(prov, "compilers", None, (user.build.compilers, src)),
        uid=_pick(prov, "uid", DEFAULT_UID, (user.build.uid, src)),
        lab_port=_pick(prov, "lab_port", DEFAULT_LAB_PORT, (user.lab.port, src)),
        lab_host=_pick(prov, "lab_host", "127.0.0.1", (user.lab.host, src)),
        data_dirs=_pick(prov, "data_dirs", (), (_tuple(user.data.dirs), src),
                        (det.data_dirs, "detected")),
        gpu=_pick(prov, "gpu", False, (user.gpu.enabled, src),
                  (det.gpu.wanted or None, "detected")),
        gpu_frameworks=det.gpu.frameworks,
        serve=_serve(loaded, det),
        spec_file=loaded.file,
        install_project=_install_project(view, loaded, det, prov, src),
        package_digest=_package_digest(view, det),
        provenance=prov,
        post_build=_detected(prov, "post_build", det.post_build),
        start=_detected(prov, "start", det.start),
        install_undeclared=_undeclared_mode(loaded),
    )


def _detected(prov: dict[str, str], key: str, path: str) -> str:
    """A detected file's path, in the provenance only when present (no churn for the rest)."""
    if path:
        prov[key] = f"detected: {path}"
    return path


def _install_project(view: ProjectView, loaded: LoadedSpec, det: Detection,
                     prov: dict[str, str], src: str) -> str:
    wanted = loaded.spec.build.install_project
    if wanted is False:
        prov["install_project"] = src
        return ""
    prov["install_project"] = f"detected: {det.package}" if det.package else "default"
    return det.package


def _package_digest(view: ProjectView, det: Detection) -> str:
    if det.package != "setup.py":
        return ""
    text = view.read_text("setup.py") + (view.read_text("setup.cfg")
                                         if view.exists("setup.cfg") else "")
    return hashlib.sha256(text.encode()).hexdigest()


def _undeclared_mode(loaded: LoadedSpec) -> str:
    value = loaded.spec.dependencies.install_undeclared
    if value is True:
        return "all"
    return "none" if value is False else "known"


def _detected_url(url: str) -> str:
    """An index URL found in a dependency file passes the same check as one in the spec."""
    if not url:
        return url
    try:
        return checks.index_url(url)
    except ValueError as exc:
        raise SpecError("the project's dependency files",
                        [f"index URL {checks.redact(url)!r}: {exc}"],
                        hint="fix the --index-url / --extra-index-url line, or set "
                             "[dependencies] index_url in dockyard.toml") from None


def _tuple(value: list[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _requirements(loaded: LoadedSpec, det: Detection, prov: dict[str, str], src: str
                  ) -> tuple[str, ...]:
    """Declared + notebooks' `pip install`s and undeclared imports (unless disabled) + extra -
    exclude, one line per name."""
    deps = loaded.spec.dependencies
    exclude = {canonicalize_name(n) for n in deps.exclude}
    lines: dict[str, str] = {}
    for dep in det.dependencies:
        lines.setdefault(dep.name, dep.requirement())
    mode = _undeclared_mode(loaded)
    prov["install_undeclared"] = src if deps.install_undeclared is not None else "default"
    for dep in det.notebook_installs if mode != "none" else ():
        lines.setdefault(dep.name, dep.requirement())  # named by the notebook: no guess
    for imp in det.undeclared_imports:
        # A name the import map does not know may be a private module: installing it from
        # PyPI under that name is how dependency confusion gets in. Reported, not installed.
        if mode == "all" or (mode == "known" and is_known(imp.module)):
            lines.setdefault(canonicalize_name(imp.distribution), imp.distribution)
    for extra in deps.extra:
        name = checks.requirement_name(extra)
        lines[name] = extra
    return tuple(line for name, line in sorted(lines.items()) if name not in exclude)


def _serve(loaded: LoadedSpec, det: Detection) -> ServeSpec:
    s = loaded.spec.serve
    base = ServeSpec()
    return ServeSpec(
        model=s.model or (det.models[0] if len(det.models) == 1 else ""),
        predictor=s.predictor or "",
        port=s.port or base.port,
        workers=s.workers or base.workers,
        max_batch=s.max_batch or base.max_batch,
        max_wait_ms=s.max_wait_ms if s.max_wait_ms is not None else base.max_wait_ms,
        sha256=s.sha256 or "",
    )
