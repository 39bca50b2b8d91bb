"""Workloads → Compose service definitions, and the whole Compose document (a dict).

Compose interpolates `$` in every string, so text that must reach the container as written is
escaped (`$$`); the only `${...}` in a rendered service are references to secrets in `.env`.
Optional keys appear only when they have content, in one fixed order, so files stay short and
rendering twice gives the same bytes.
"""

from __future__ import annotations

from typing import Any

from dockyard.workload import (
    LABEL_PROJECT,
    LABEL_ROLE,
    EnvVar,
    Mount,
    Port,
    Probe,
    Resources,
    SecretRef,
    User,
    Workload,
)

Doc = dict[str, Any]

NETWORK = "backend"
CONDITIONS = {"healthy": "service_healthy", "completed": "service_completed_successfully"}

# The order keys appear in: what runs, then how.
KEY_ORDER = ("image", "pull_policy", "profiles", "command", "restart", "user", "working_dir",
             "environment", "secrets", "read_only", "tmpfs", "volumes", "ports", "depends_on",
             "healthcheck", "deploy",
             "networks", "labels", "cap_drop", "security_opt")


def literal(text: str) -> str:
    """Text Compose must not interpolate (`$HOME` stays `$HOME` in the container)."""
    return text.replace("$", "$$")


def ref(secret: SecretRef) -> str:
    """A value from `.env`: a clear error from Compose when a required one is missing."""
    if secret.required:
        return f"${{{secret.name}:?run dockyard compose}}"
    return f"${{{secret.name}:-}}"


def labels(project_key: str, role: str) -> Doc:
    return {LABEL_PROJECT: project_key, LABEL_ROLE: role}


def data_volume(folder: str) -> str:
    """The volume a data folder is shared through."""
    return "data" if folder.strip("/") == "data" else "data-" + folder.strip("/").replace("/", "-")


def env_value(var: EnvVar) -> str:
    return "".join(literal(p) if isinstance(p, str) else ref(p) for p in var.parts)


def user(u: User) -> str:
    uid = "${DOCKYARD_UID:-1000}" if u.uid is None else str(u.uid)
    gid = "${DOCKYARD_GID:-1000}" if u.gid is None else str(u.gid)
    return f"{uid}:{gid}"


def command(w: Workload) -> list[str]:
    """The command; with retries or a time limit, wrapped in a loop in the container: Compose
    restarts would race its own `service_completed_successfully` check, a loop in the
    container does not. The limit is coreutils' `timeout` (exit 124), as in project images."""
    argv = [literal(a) for a in w.command]
    if not w.retries and not w.timeout:
        return argv
    run = f'timeout -k 10 {w.timeout} "$$@"' if w.timeout else '"$$@"'
    if not w.retries:
        return ["sh", "-c", f"exec {run}", w.name, *argv]
    n = w.retries
    delay = str(w.retry_delay) if w.retry_delay else "$$((n*2))"
    script = (f"n=0; while :; do {run} && exit 0; s=$$?; n=$$((n+1)); "
              f"if [ $$n -gt {n} ]; then exit $$s; fi; "
              f"echo \"dockyard: {w.name} failed (exit $$s), retry $$n of {n} "
              f"in {delay}s\" >&2; sleep {delay}; done")
    return ["sh", "-c", script, w.name, *argv]


def mount(m: Mount) -> Doc:
    if m.kind == "scratch":
        return {"type": "tmpfs", "target": m.target}
    source = data_volume(m.source) if m.kind == "data" else m.source
    doc: Doc = {"type": "bind" if m.kind == "bind" else "volume", "source": source,
                "target": m.target}
    if m.read_only:
        doc["read_only"] = True
    return doc


def healthcheck(p: Probe) -> Doc:
    """`depends_on: service_healthy` and `up --wait` read it."""
    if p.shell:
        test = ["CMD-SHELL", literal(p.shell)]
    elif p.http:  # the image's own python3: slim images have no curl
        code = f"import urllib.request as u; u.urlopen({p.http!r}, timeout=4)"
        test = ["CMD", "python3", "-c", code]
    else:
        test = ["CMD", *(literal(a) for a in p.command)]
    return {"test": test, "interval": p.interval, "timeout": p.timeout, "retries": p.retries,
            "start_period": p.start_period}


def deploy(r: Resources, replicas: int = 1) -> Doc:
    """Limits; GPUs as an NVIDIA device reservation (Compose's way)."""
    doc: Doc = {}
    if replicas > 1:
        doc["replicas"] = replicas
    limits: Doc = {}
    if r.cpus is not None:
        limits["cpus"] = f"{r.cpus:g}"
    if r.memory:
        limits["memory"] = r.memory
    res: Doc = {"limits": limits} if limits else {}
    if r.gpus:
        res["reservations"] = {"devices": [
            {"driver": "nvidia", "count": "all" if r.gpus < 0 else r.gpus,
             "capabilities": ["gpu"]}]}
    if res:
        doc["resources"] = res
    return doc


def host_ports(p: Port, replicas: int = 1) -> range:
    """The host ports a published port takes: one per replica, from `host_port` up."""
    return range(p.host_port, p.host_port + max(replicas, 1))


def port(p: Port, replicas: int = 1) -> str:
    """`127.0.0.1:8080:8080`; replicated, a host port range (`127.0.0.1:8080-8082:8080`).

    N replicas cannot all bind one host port, so each gets its own from a range of N and
    Compose hands them out as it starts replicas (a restarted replica takes the free one).
    Publishing no port at all when replicated would leave the API unreachable from the host;
    clients on the stack network use the service name (`http://api:8080`), which Docker's DNS
    resolves to every replica in turn."""
    ports = host_ports(p, replicas)
    host = f"{ports[0]}-{ports[-1]}" if len(ports) > 1 else str(ports[0])
    return f"{p.host_ip}:{host}:{p.container_port}"


def service(w: Workload) -> Doc:
    """One Compose service."""
    doc: Doc = {"image": w.image}
    if w.local_image:
        doc["pull_policy"] = "never"
    optional: Doc = {
        "profiles": list(w.profiles),
        "command": command(w),
        "restart": w.restart,
        "user": user(w.user) if w.user else "",
        "working_dir": w.workdir,
        "environment": {var.name: env_value(var) for var in w.env},
        "secrets": [f.name for f in w.secret_files],
        "read_only": w.read_only,
        "tmpfs": ["/tmp"] if w.read_only else [],
        "volumes": [mount(m) for m in w.mounts],
        "ports": [port(p, w.replicas) for p in w.ports],
        "depends_on": {d.name: {"condition": CONDITIONS[d.condition]} for d in w.depends_on},
        "healthcheck": healthcheck(w.probe) if w.probe else {},
        "deploy": deploy(w.resources, w.replicas),
        "networks": [NETWORK],
        "labels": labels(w.project, w.role),
        "cap_drop": list(w.drop_caps),
        "security_opt": ["no-new-privileges:true"] if w.no_new_privileges else [],
    }
    doc |= {key: value for key, value in optional.items() if value}
    if w.stop_timeout:
        doc["stop_grace_period"] = f"{w.stop_timeout}s"
    rank = {key: i for i, key in enumerate(KEY_ORDER)}
    return dict(sorted(doc.items(), key=lambda item: rank.get(item[0], len(rank))))


def document(name: str, project_key: str, workloads: tuple[Workload, ...]) -> Doc:
    """The Compose file as a dict, in the order a reader expects: services, then resources."""
    doc: Doc = {"name": name, "services": {w.name: service(w) for w in workloads},
                "networks": {NETWORK: {"labels": labels(project_key, "network")}}}
    volumes = _volumes(project_key, workloads)
    if volumes:
        doc["volumes"] = volumes
    secrets = {f.name: {"environment": f.source.name}
               for w in workloads for f in w.secret_files}
    if secrets:
        doc["secrets"] = secrets
    return doc


def _volumes(project_key: str, workloads: tuple[Workload, ...]) -> Doc:
    """A named volume per stateful service, and one per data folder: a bind to the host
    folder, so the data stays where the user put it and every container sees the same files."""
    mounts = [m for w in workloads for m in w.mounts]
    volumes: Doc = {m.source: {"labels": labels(project_key, "volume")}
                    for m in mounts if m.kind == "volume"}
    for m in (m for m in mounts if m.kind == "data"):
        volumes[data_volume(m.source)] = {
            "driver": "local",
            "driver_opts": {"type": "none", "o": "bind", "device": f"./{m.source.strip('/')}"},
            "labels": labels(project_key, "data"),
        }
    return volumes
