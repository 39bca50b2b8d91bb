"""The project's own one-container workloads: `dockyard run`, notebook runs, the lab and the
model server, as `docker run` starts them.

They run as the owner of the project folder, so edits made inside keep the right ownership on
the host. When that owner is root, the container is root too but with every capability dropped
and no-new-privileges: it can touch what root owns in the mounted folder and nothing more.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dockyard.plan.defaults import (
    API_PORT,
    DROP_ALL,
    HOME_ENV,
    LAB_PORT,
    WORKDIR,
    lab_command,
    lab_health_url,
    project_mount,
)
from dockyard.workload import Port, User, Workload, env, plain_env, secret_env

# The server drains in-flight requests (deadline 30 s) on SIGTERM.
SERVE_STOP_TIMEOUT = 35


def folder_owner(root: Path) -> User:
    st = root.stat()
    return User(st.st_uid, st.st_gid)


def container_name(project: str, role: str) -> str:
    """The one container of a role a project runs at a time (`dockyard-<key>-lab`)."""
    return f"dockyard-{project}-{role}"


def run_workload(root: str, project: str, user: User, image: str,
                 command: tuple[str, ...], role: str = "run") -> Workload:
    """The project's image with the project mounted at /workspace, as the folder's owner."""
    return Workload(name="", role=role, project=project, image=image, command=command,
                    workdir=WORKDIR, user=user, env=plain_env((HOME_ENV,)),
                    mounts=(project_mount(root),), drop_caps=DROP_ALL, remove=True)


def lab_workload(root: str, project: str, user: User, image: str, *, port: int,
                 host: str) -> Workload:
    """JupyterLab on PORT of HOST; its token is the secret JUPYTER_TOKEN."""
    w = run_workload(root, project, user, image, (), role="lab")
    return replace(w, name=container_name(project, "lab"),
                   command=lab_command(allow_root=user.uid == 0),
                   ports=(Port(port, LAB_PORT, host),),
                   env=(*w.env, env("DOCKYARD_HEALTH_URL", lab_health_url()),
                        secret_env("JUPYTER_TOKEN")))


def serve_workload(project: str, image: str, *, port: int, host: str,
                   env: tuple[tuple[str, str], ...], api_key: bool) -> Workload:
    """The model server from its image, read-only; with `api_key`, the secret
    DOCKYARD_API_KEY reaches its environment (never the image, nor an argv)."""
    return Workload(name=container_name(project, "serve"), role="serve", project=project,
                    image=image, ports=(Port(port, API_PORT, host),), read_only=True,
                    stop_timeout=SERVE_STOP_TIMEOUT, drop_caps=DROP_ALL, remove=True,
                    env=(*plain_env(env),
                         *((secret_env("DOCKYARD_API_KEY"),) if api_key else ())))
