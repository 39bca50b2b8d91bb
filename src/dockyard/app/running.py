"""`dockyard run` and `dockyard lab`: the project's image with the project mounted."""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass

from dockyard.app.context import Project
from dockyard.engine import containers as ctr
from dockyard.engine._cmd import Engine
from dockyard.engine.ready import HttpReady
from dockyard.errors import UserError
from dockyard.plan import project as plan
from dockyard.workload import Workload


def project_workload(project: Project, image: str, command: tuple[str, ...],
                     role: str = "run") -> Workload:
    """The project's image with the project mounted, as the folder's owner."""
    return plan.run_workload(str(project.root), project.spec.project_key,
                             plan.folder_owner(project.root), image, command, role)


def run_command(engine: Engine, project: Project, image: str, command: tuple[str, ...]) -> int:
    if not command:
        raise UserError("nothing to run", hint="dockyard run -- python train.py  "
                                                "(or: dockyard run notebook.ipynb)")
    return ctr.run_foreground(engine, project_workload(project, image, command))


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


def start_lab(engine: Engine, project: Project, image: str, *, port: int | None = None,
              host: str | None = None,
              timeout: float = 120) -> LabSession:
    port = port or project.spec.lab_port
    host = host or project.spec.lab_host
    workload = plan.lab_workload(str(project.root), project.spec.project_key,
                                 plan.folder_owner(project.root), image, port=port, host=host)
    name = workload.name
    if ctr.is_running(engine, name):
        raise UserError(f"JupyterLab is already running for this project ({name})",
                        hint="open its URL again with `docker logs " + name +
                             "`, or `dockyard stop` first")
    if not port_free(host, port):
        raise UserError(f"port {port} is already in use on {host}",
                        hint=f"pick another one: dockyard lab --port {port + 1}")
    token = secrets.token_hex(24)
    ctr.stop(engine, name, timeout=2)  # an exited leftover of a crashed session would hold the name
    container = ctr.start(engine, workload, {"JUPYTER_TOKEN": token})
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    base_url = f"http://{shown_host}:{port}"
    ready = HttpReady(f"{base_url}/api/status", headers=(("Authorization", f"token {token}"),),
                      timeout=timeout)
    try:
        seconds = ready.wait(container, engine)
    except Exception:
        ctr.stop(engine, container, timeout=1)
        raise
    return LabSession(container[:12], name, f"{base_url}/lab?token={token}", token, port, host,
                      seconds)


def follow_then_stop(engine: Engine, container: str, timeout: int | None = None) -> None:
    """The container's logs on the terminal until it ends or Ctrl-C; then it is stopped."""
    try:
        ctr.follow_logs(engine, container)
    except KeyboardInterrupt:
        pass
    finally:
        ctr.stop(engine, container, timeout=timeout)


def stop_project(engine: Engine, project: Project) -> list[str]:
    stopped = []
    for info in ctr.list_containers(engine, project.spec.project_key):
        ctr.stop(engine, info.id)
        stopped.append(info.name)
    return stopped

