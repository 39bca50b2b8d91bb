"""The catalog of services a stack can hold: what each kind is, and its defaults.

Data services (postgres, redis, minio, mlflow, spark) run an image of their own: the official
one by default, or a compatible image that `dockyard base --services` builds from Debian and
PyPI packages for machines without a registry. Project roles (lab, api, dashboard) run the
project's own image. Default versions are the ones both sources can provide, so a volume made
by one opens with the other (Debian bookworm ships PostgreSQL 15 and Redis 7).
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.plan.defaults import API_PORT, LAB_PORT

# Settings every service has; each kind adds its own (checked when the spec is resolved).
COMMON_SETTINGS = ("kind", "image", "version", "port", "publish", "host", "cpus", "memory", "env")


@dataclass(frozen=True)
class Kind:
    name: str
    role: str  # "data": an image of its own; "project": the project's image
    summary: str
    official: str = ""  # image reference with {version}; "" when no official image fits
    local: str = ""  # dockyard's own build, with {version}; "" when none can be built
    local_versions: tuple[str, ...] = ()  # the versions a local build can have; () = any
    version: str = ""
    container_port: int = 0  # the port `port` publishes
    host_port: int = 0  # default host port
    published: bool = False  # published by default (UIs are; databases are not)
    volume: str = ""  # mount path of the stateful volume, "" when stateless
    memory: str = ""  # default memory limit
    settings: tuple[str, ...] = ()  # settings beyond COMMON_SETTINGS

    def official_image(self, version: str) -> str:
        return self.official.format(version=version) if self.official else ""

    def local_image(self, version: str) -> str:
        if not self.local or (self.local_versions and not _compatible(version,
                                                                      self.local_versions)):
            return ""
        return self.local.format(version=version.split(".")[0] if self.local_versions
                                 else version)

    @property
    def allowed(self) -> tuple[str, ...]:
        common = COMMON_SETTINGS if self.role == "data" else tuple(
            s for s in COMMON_SETTINGS if s != "version")  # the project's image has no version
        return common + self.settings


def _compatible(version: str, versions: tuple[str, ...]) -> bool:
    return version.split(".")[0] in versions


CATALOG: dict[str, Kind] = {k.name: k for k in (
    Kind("postgres", "data", "PostgreSQL database",
         official="postgres:{version}", local="localhost/dockyard/postgres:{version}",
         local_versions=("15",), version="15", container_port=5432, host_port=5432,
         volume="/var/lib/postgresql/data", memory="1g", settings=("database", "user")),
    Kind("redis", "data", "Redis key-value store",
         official="redis:{version}", local="localhost/dockyard/redis:{version}",
         local_versions=("7",),
         version="7", container_port=6379, host_port=6379, volume="/data", memory="512m"),
    Kind("minio", "data", "MinIO S3-compatible object store (official image only)",
         official="minio/minio:{version}", version="RELEASE.2025-04-22T22-12-26Z",
         container_port=9000, host_port=9000, volume="/data", memory="1g",
         settings=("console_port",)),
    Kind("mlflow", "data", "MLflow tracking server (postgres + minio, or local files)",
         local="localhost/dockyard/mlflow:{version}", version="3.17.2", container_port=5000,
         host_port=5000, published=True, volume="/mlflow", memory="2g"),  # 1g: OOM at start
    Kind("spark", "data", "Apache Spark standalone master and workers",
         official="spark:{version}-java17-python3", local="localhost/dockyard/spark:{version}",
         version="3.5.7", container_port=8080, host_port=8090, published=True,
         memory="1g", settings=("workers", "worker_cores", "worker_memory")),
    Kind("lab", "project", "JupyterLab in the project's image",
         container_port=LAB_PORT, host_port=LAB_PORT, published=True, settings=("gpu", "command")),
    Kind("api", "project", "the project's model server (python -m dockyard_serve)",
         container_port=API_PORT, host_port=API_PORT, published=True,
         settings=("gpu", "model", "predictor", "workers")),
    Kind("dashboard", "project", "a Streamlit, Dash, Panel or Gradio app of the project",
         published=True, settings=("gpu", "app", "framework", "command")),
)}
KINDS = tuple(sorted(CATALOG))

# Images dockyard can build without a registry, in the order `dockyard base` builds them.
LOCAL_BUILDS = ("postgres", "redis", "mlflow", "spark")


def kind_of(name: str) -> Kind | None:
    return CATALOG.get(name)


@dataclass(frozen=True)
class Framework:
    """How to run one dashboard framework: command (with {app} and {port}), port, health path."""

    name: str
    module: str
    port: int
    command: tuple[str, ...]
    health: str
    env: tuple[tuple[str, str], ...] = ()


FRAMEWORKS: dict[str, Framework] = {f.name: f for f in (
    Framework("streamlit", "streamlit", 8501,
              ("streamlit", "run", "{app}", "--server.port={port}", "--server.address=0.0.0.0",
               "--server.headless=true", "--browser.gatherUsageStats=false"),
              "/_stcore/health"),
    # Dash and Gradio apps start their own server; these variables make it listen on the
    # container's interface instead of 127.0.0.1 (Dash reads HOST/PORT, Gradio its own).
    Framework("dash", "dash", 8050, ("python", "{app}"), "/",
              (("HOST", "0.0.0.0"), ("PORT", "{port}"))),
    Framework("panel", "panel", 5006,
              ("panel", "serve", "{app}", "--address=0.0.0.0", "--port={port}",
               "--allow-websocket-origin=127.0.0.1:{host_port}",
               "--allow-websocket-origin=localhost:{host_port}"), "/"),
    Framework("gradio", "gradio", 7860, ("python", "{app}"), "/",
              (("GRADIO_SERVER_NAME", "0.0.0.0"), ("GRADIO_SERVER_PORT", "{port}"))),
)}
