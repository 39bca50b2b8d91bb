"""The stack as a cluster runs it: the same Workloads, adapted once for Kubernetes (and Helm).

What differs from Compose is decided here, not in a renderer:

- names: every service becomes `<deploy name>-<service>` (its Kubernetes objects and its DNS
  name, so the connection settings the resolver wrote — `PGHOST=churn-db` — are right as they
  are); pipeline steps keep their names (they are containers of one Job's pod);
- the code is in the image: the project folder is not mounted; each data folder becomes a
  PersistentVolumeClaim `<deploy name>-<volume>` mounted where Compose mounts it;
- ports are what each container listens on (a Service publishes them inside the cluster);
- the project label is the deploy name (the local key is a hash of the folder's path);
- PostgreSQL keeps its data in a folder below the volume's root (`PGDATA`), which holds
  lost+found on most storage classes;
- every pod runs as a numeric non-root user with a read-only root filesystem, every capability
  dropped, and `scratch` folders (emptyDir) where its image writes besides its data;
- the lab stays local (JupyterHub is the cluster's notebook server) and Spark standalone is
  left out (on a cluster, Spark runs through its operator or `spark-submit --master k8s://`);
  `--external` leaves out postgres, redis and minio for managed services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from dockyard.plan.defaults import API_PORT, ENDPOINT_DELAY, WORKDIR
from dockyard.plan.project import SERVE_STOP_TIMEOUT
from dockyard.plan.services import client_env
from dockyard.plan.stack import ProjectContext, stack_workloads
from dockyard.render.compose import data_volume
from dockyard.spec.catalog import CATALOG, FRAMEWORKS
from dockyard.spec.stack import ServiceSpec, StackSpec
from dockyard.workload import Mount, Port, User, Workload, env, merge_env

# Services a managed offering replaces (`dockyard k8s --external`).
EXTERNAL_KINDS = ("postgres", "redis", "minio")
# The official images' own non-root users (their files and entrypoints expect them):
# postgres and redis create uid 999; MinIO runs as any user that owns /data; dockyard's
# MLflow image runs as 1000.
IMAGE_USERS = {"postgres": User(999, 999), "redis": User(999, 999), "minio": User(1000, 1000),
               "mlflow": User(1000, 1000)}
# Folders an image writes to besides its data, made writable (emptyDir) under a read-only root.
SCRATCH = {"postgres": ("/tmp", "/var/run/postgresql"), "minio": ("/tmp", "/.minio", "/.mc"),
           "default": ("/tmp",)}
# A Service's port for each container port a role listens on (the API answers on 80).
MINIO_PORTS = (9000, 9001)


@dataclass(frozen=True)
class ClusterPlan:
    workloads: tuple[Workload, ...]
    left_out: tuple[tuple[str, str], ...]  # (service, why), said as a warning


def object_name(prefix: str, service: str) -> str:
    return f"{prefix}-{service}"


def cluster_workloads(stack: StackSpec, ctx: ProjectContext, *, prefix: str, uid: int,
                      external: bool = False) -> ClusterPlan:
    """The Workloads of STACK as Kubernetes runs them (see the module docstring)."""
    left_out: list[tuple[str, str]] = []
    kept: list[ServiceSpec] = []
    for svc in stack.services:
        if svc.kind == "lab":
            left_out.append((svc.name, "the lab stays on your machine (`dockyard lab`); on a "
                                       "cluster, JupyterHub serves notebooks"))
        elif svc.kind == "spark":
            left_out.append((svc.name, "Spark standalone is not rendered: on a cluster run Spark "
                                       "with its operator or `spark-submit --master k8s://`; "
                                       "SPARK_MASTER_URL stays in the ConfigMap"))
        elif external and svc.kind in EXTERNAL_KINDS:
            left_out.append((svc.name, "--external: point its connection settings (ConfigMap "
                                       "and Secret) at the managed service"))
        else:
            kept.append(svc)
    renamed = replace(stack, services=tuple(
        replace(s, name=object_name(prefix, s.name)) for s in stack.services))
    names = {object_name(prefix, s.name) for s in kept}
    workloads = stack_workloads(renamed, ctx)
    chosen = [w for w in workloads if w.name in names or w.role == "step"]
    return ClusterPlan(tuple(_adapt(w, stack, prefix, uid, names) for w in chosen),
                       tuple(left_out))


def _adapt(w: Workload, stack: StackSpec, prefix: str, uid: int, kept: set[str]) -> Workload:
    project_image = w.role in ("api", "dashboard", "step")
    mounts = [_mount(m, prefix) for m in w.mounts if m.kind != "bind" or m.target != WORKDIR]
    variables = w.env
    volume = next((m.target for m in w.mounts if m.kind == "volume"), "")
    if w.role == "postgres" and volume.endswith("/data"):
        # A new volume holds lost+found and initdb wants an empty folder: the data one level
        # down, in a folder the server (uid 999, the volume's group) creates itself.
        variables = merge_env(variables, (env("PGDATA", f"{volume}/pgdata"),))
    scratch = SCRATCH.get(w.role, SCRATCH["default"])
    mounts += [Mount("", path, kind="scratch") for path in scratch]
    if w.role == "step":
        # Steps write into the project folder (a notebook's executed copy, `outputs/`) and
        # hand files on to the next step, as the shared folder lets them in Compose: in the
        # pipeline's pod /workspace is a writable copy of the image's, made by its first init
        # container, shared by every step; data folders stay claims mounted inside it.
        mounts.insert(0, Mount("", WORKDIR, kind="scratch"))
    # Start order: a dependency left out (an external service) is not waited for.
    depends = tuple(d for d in w.depends_on if d.name in kept or d.condition == "completed")
    stop = w.stop_timeout
    if w.role == "api":  # the server drains for up to 30 s, after the endpoint delay
        stop = stop or SERVE_STOP_TIMEOUT + ENDPOINT_DELAY
    return replace(
        # The project's name, not its local key (a hash of the folder's path): manifests are
        # committed, and must not change from one checkout to the next.
        w, project=prefix, env=variables, mounts=tuple(mounts), ports=_ports(w, stack, prefix),
        user=User(uid, uid) if project_image else IMAGE_USERS.get(w.role, User(uid, uid)),
        read_only=True, drop_caps=("ALL",), no_new_privileges=True, profiles=(), stop_timeout=stop,
        depends_on=depends)


def _mount(m: Mount, prefix: str) -> Mount:
    if m.kind == "data":  # one claim per data folder, shared by every pod that mounts it
        return replace(m, source=claim_name(prefix, m.source))
    return m


def claim_keys(workloads: tuple[Workload, ...], prefix: str,
               data_dirs: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Each volume claim's owner as `[deploy.storage] sizes` names it: (the claim's name for a
    data folder, or the object's for a service's own volume, → the folder or service)."""
    mounted = {m.source for w in workloads for m in w.mounts if m.kind == "data"}
    keys = {claim_name(prefix, d): d.strip("/") for d in data_dirs
            if claim_name(prefix, d) in mounted}
    for w in workloads:
        if any(m.kind == "volume" for m in w.mounts):
            keys[w.name] = w.name.removeprefix(f"{prefix}-")
    return tuple(sorted(keys.items()))


def claim_name(prefix: str, folder: str) -> str:
    """The claim of a data folder: `Raw_Data/2024` → `<prefix>-data-raw-data-2024`."""
    return object_name(prefix, re.sub(r"[^a-z0-9-]+", "-", data_volume(folder).lower()).strip("-"))


def _ports(w: Workload, stack: StackSpec, prefix: str) -> tuple[Port, ...]:
    """The ports the container listens on (host_port = container_port: no host here)."""
    listens: tuple[int, ...] = ()
    if w.role == "api":
        listens = (API_PORT,)
    elif w.role == "dashboard":
        svc = next(s for s in stack.services if object_name(prefix, s.name) == w.name)
        listens = (FRAMEWORKS[svc.framework].port,)
    elif w.role == "minio":
        listens = MINIO_PORTS
    elif w.role in CATALOG and CATALOG[w.role].container_port:
        listens = (CATALOG[w.role].container_port,)
    return tuple(Port(p, p, "") for p in listens)


def cluster_config(stack: StackSpec, prefix: str) -> tuple[tuple[str, str], ...]:
    """The ConfigMap: the connection settings without a secret in them, as the project's
    containers read them (with `--external`, edit these to point at managed services)."""
    renamed = replace(stack, services=tuple(
        replace(s, name=object_name(prefix, s.name)) for s in stack.services))
    return tuple((v.name, v.text) for v in client_env(renamed) if not v.secrets)
