"""The defaults every container dockyard starts shares, each written once.

The lab's command and port, the model server's port, the project's mount point, the health
check script the images carry, the stack's profiles and the hardening every project container
gets: the resolver (`dockyard.plan`) reads them from here and renderers never repeat them.
"""

from __future__ import annotations

from dockyard.workload import Mount, Probe

WORKDIR = "/workspace"  # where the project is (copied into images, mounted at run time)
LAB_PORT = 8888  # JupyterLab, in the container
API_PORT = 8080  # the model server, in the container
HEALTH_SCRIPT = "/opt/dockyard/runtime/healthcheck.py"  # reads DOCKYARD_HEALTH_URL
# On a cluster, seconds a terminating API pod keeps serving before SIGTERM (its preStop hook):
# time for the endpoints to drop it, so no new request reaches a server that stopped accepting.
ENDPOINT_DELAY = 5
PIPELINE_PROFILE = "pipeline"
GPU_PROFILE = "gpu"
DROP_ALL = ("ALL",)
# `docker run` containers get $HOME in /tmp: the user is the folder's owner, who has no home
# in the image.
HOME_ENV = ("HOME", "/tmp")


def lab_command(*, allow_root: bool = False) -> tuple[str, ...]:
    """JupyterLab serving the project; --allow-root only matters when the folder's owner is
    root (capabilities are dropped anyway)."""
    command = ("jupyter", "lab", "--ip=0.0.0.0", f"--port={LAB_PORT}", "--no-browser",
               f"--ServerApp.root_dir={WORKDIR}")
    return (*command, "--allow-root") if allow_root else command


def lab_health_url() -> str:
    return f"http://127.0.0.1:{LAB_PORT}/api"


def health_probe() -> Probe:
    """The project images' own check (it reads DOCKYARD_HEALTH_URL)."""
    return Probe(command=("python3", HEALTH_SCRIPT))


def project_mount(source: str, read_only: bool = False) -> Mount:
    return Mount(source, WORKDIR, read_only=read_only)


def data_mounts(data_dirs: tuple[str, ...]) -> tuple[Mount, ...]:
    return tuple(Mount(d, f"{WORKDIR}/{d.strip('/')}", kind="data") for d in data_dirs)
