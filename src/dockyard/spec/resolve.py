"""Resolve the user's spec against detection: every field concrete, with its provenance."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.utils import canonicalize_name

from dockyard.detect import Detection
from dockyard.project import ProjectView
from dockyard.spec.load import LoadedSpec

DEFAULT_PYTHON = "3.11"
DEFAULT_UID = 1000
DEFAULT_LAB_PORT = 8888
DEFAULT_SERVE_PORT = 8080

# Always in the image: JupyterLab for `lab`, nbclient for headless notebook runs, dumb-init as
# PID 1. jupyter-server 2.21.1 is the first release without published advisories.
RUNTIME_REQUIREMENTS = (
    "dumb-init>=1.2.5",
    "ipykernel>=6.29",
    "jupyter-server>=2.21.1",
    "jupyterlab>=4.2",
    "nbclient>=0.10",
    "nbformat>=5.10",
)


@dataclass(frozen=True)
class ServeSpec:
    model: str = ""
    predictor: str = ""
    port: int = DEFAULT_SERVE_PORT
    workers: int = 0  # 0: one per core, decided in the container
    max_batch: int = 64
    max_wait_ms: float = 2.0


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
    compilers: bool
    uid: int
    lab_port: int
    lab_host: str
    data_dirs: tuple[str, ...]
    gpu: bool
    gpu_frameworks: tuple[str, ...]
    serve: ServeSpec
    spec_file: str
    provenance: dict[str, str] = field(default_factory=dict)

    @property
    def default_base_image(self) -> str:
        return f"python:{self.python}-slim"


def resolve(view: ProjectView, loaded: LoadedSpec, det: Detection) -> Spec:
    """Combine spec file, detection and defaults, recording where each value came from."""
    user, src = loaded.spec, loaded.file or "dockyard.toml"
    prov: dict[str, str] = {}

    def pick(key: str, mine: object, detected: object, det_src: str, default: object) -> object:
        if mine is not None:
            prov[key] = src
            return mine
        if detected not in (None, "", ()):
            prov[key] = det_src
            return detected
        prov[key] = "default"
        return default

    python = str(pick("python", user.python, det.python.version,
                      f"detected: {det.python.source}", DEFAULT_PYTHON))
    if det.python.source == "default" and user.python is None:
        prov["python"] = "default"
    data_dirs = pick("data_dirs", _tuple(user.data.dirs), det.data_dirs, "detected", ())
    gpu_on = pick("gpu", user.gpu.enabled, det.gpu.wanted or None, "detected", False)
    return Spec(
        name=str(pick("name", user.name, view.name, "project folder", view.name)),
        project_key=view.key,
        python=python,
        base_image=str(pick("base_image", user.build.base_image, None, "", "")),
        requirements=_requirements(loaded, det, prov, src),
        runtime_requirements=RUNTIME_REQUIREMENTS,
        index_url=str(pick("index_url", user.dependencies.index_url, det.index_url,
                           "detected", "")),
        extra_index_urls=tuple(user.dependencies.extra_index_urls) or det.extra_index_urls,
        system_packages=tuple(sorted({*det.system_packages, *user.system.packages})),
        compilers=bool(pick("compilers", user.build.compilers, None, "", True)),
        uid=int(pick("uid", user.build.uid, None, "", DEFAULT_UID)),  # type: ignore[call-overload]
        lab_port=int(pick("lab_port", user.lab.port, None, "", DEFAULT_LAB_PORT)),  # type: ignore[call-overload]
        lab_host=str(pick("lab_host", user.lab.host, None, "", "127.0.0.1")),
        data_dirs=tuple(data_dirs),  # type: ignore[call-overload]
        gpu=bool(gpu_on),
        gpu_frameworks=det.gpu.frameworks,
        serve=_serve(loaded, det),
        spec_file=loaded.file,
        provenance=prov,
    )


def _tuple(value: list[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _requirements(loaded: LoadedSpec, det: Detection, prov: dict[str, str], src: str
                  ) -> tuple[str, ...]:
    """Declared + undeclared imports (unless disabled) + extra − exclude, one line per name."""
    deps = loaded.spec.dependencies
    exclude = {canonicalize_name(n) for n in deps.exclude}
    lines: dict[str, str] = {}
    for dep in det.dependencies:
        lines.setdefault(dep.name, dep.requirement())
    install_undeclared = deps.install_undeclared is not False
    prov["install_undeclared"] = src if deps.install_undeclared is not None else "default"
    if install_undeclared:
        for imp in det.undeclared_imports:
            lines.setdefault(canonicalize_name(imp.distribution), imp.distribution)
    for extra in deps.extra:
        name = canonicalize_name(_name_of(extra))
        lines[name] = extra
    return tuple(line for name, line in sorted(lines.items()) if name not in exclude)


def _name_of(requirement: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(requirement).name


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
    )
