"""`dockyard run` and `dockyard lab`: the project's image with the project mounted."""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass, replace
from pathlib import Path

from dockyard.app.context import Project
from dockyard.engine import containers as ctr
from dockyard.engine.ready import HttpReady
from dockyard.errors import UserError

WORKDIR = "/workspace"


def run_identity(root: Path) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Who the container runs as: the owner of the project folder, so edits made inside keep
    the right ownership on the host. When that owner is root, the container is root too but with
    every capability dropped (see `RunRequest.drop_caps`) and no-new-privileges: it can touch
    what root owns in the mounted folder and nothing more."""
    st = root.stat()
    return f"{st.st_uid}:{st.st_gid}", (("HOME", "/tmp"),)


def base_request(project: Project, image: str, role: str,
                 command: tuple[str, ...]) -> ctr.RunRequest:
    user, env = run_identity(project.root)
    return ctr.RunRequest(
        image=image, command=command, project=project.spec.project_key,
        role=role, workdir=WORKDIR, user=user, env=env,
        mounts=(ctr.Mount(str(project.root), WORKDIR),),
    )


def run_command(project: Project, image: str, command: tuple[str, ...]) -> int:
    if not command:
        raise UserError("nothing to run", hint="dockyard run -- python train.py  "
                                                "(or: dockyard run notebook.ipynb)")
    return ctr.run_foreground(base_request(project, image, "run", command))


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host if host != "0.0.0.0" else "", port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class LabSession:
    container: str
    name: str
    url: str
    token: str
    port: int
    host: str
    seconds_to_ready: float


def start_lab(project: Project, image: str, *, port: int | None = None, host: str | None = None,
              timeout: float = 120) -> LabSession:
    port = port or project.spec.lab_port
    host = host or project.spec.lab_host
    name = f"dockyard-{project.spec.project_key}-lab"
    if ctr.is_running(name):
        raise UserError(f"JupyterLab is already running for this project ({name})",
                        hint="open its URL again with `docker logs " + name +
                             "`, or `dockyard stop` first")
    if not port_free(host, port):
        raise UserError(f"port {port} is already in use on {host}",
                        hint=f"pick another one: dockyard lab --port {port + 1}")
    token = secrets.token_hex(24)
    ctr.stop(name, timeout=2)  # an exited leftover of a crashed session would hold the name
    req = base_request(project, image, "lab", ())
    allow_root = ("--allow-root",) if req.user.startswith("0:") else ()
    req = replace(req, command=(*_lab_cmd(), *allow_root), name=name,
                  ports=(ctr.Port(port, 8888, host),),
                  env=(*req.env, ("DOCKYARD_HEALTH_URL", "http://127.0.0.1:8888/api")),
                  secrets=(("JUPYTER_TOKEN", token),))
    container = ctr.start(req)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    base_url = f"http://{shown_host}:{port}"
    ready = HttpReady(f"{base_url}/api/status", headers=(("Authorization", f"token {token}"),),
                      timeout=timeout)
    try:
        seconds = ready.wait(container)
    except Exception:
        ctr.stop(container, timeout=1)
        raise
    return LabSession(container[:12], name, f"{base_url}/lab?token={token}", token, port, host,
                      seconds)


def _lab_cmd() -> tuple[str, ...]:
    return ("jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser",
            f"--ServerApp.root_dir={WORKDIR}")


def stop_project(project: Project) -> list[str]:
    stopped = []
    for info in ctr.list_containers(project.spec.project_key):
        ctr.stop(info.id)
        stopped.append(info.name)
    return stopped
