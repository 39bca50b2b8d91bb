"""Workloads → Kubernetes containers and pod specs (dicts), hardened the same way everywhere.

Every pod runs as the Workload's numeric user with `runAsNonRoot`, the RuntimeDefault seccomp
profile, no service-account token, and containers without privilege escalation, with every
capability dropped and a read-only root filesystem (emptyDir volumes where the image writes);
every container has CPU and memory requests and limits. Secrets are referred to by name
(`secretKeyRef`, a secret volume), never written; non-secret connection settings come from the
ConfigMap. Kubernetes expands `$(NAME)` in `args` and `env` values, so literal text is escaped
(`$` → `$$`), and a variable made of text and secrets refers to the secrets through variables
defined before it (`DOCKYARD_SECRET_<NAME>`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dockyard.plan.defaults import API_PORT, ENDPOINT_DELAY
from dockyard.plan.services import memory_mb
from dockyard.spec.deploy import DeploySpec
from dockyard.workload import (
    LABEL_PROJECT,
    LABEL_ROLE,
    EnvVar,
    Mount,
    Probe,
    SecretRef,
    Workload,
)

Doc = dict[str, Any]

SECRET_PREFIX = "DOCKYARD_SECRET_"
SECRETS_DIR = "/run/secrets"
PORT_NAMES = {API_PORT: "http", 5432: "postgres", 6379: "redis", 9000: "s3", 9001: "console"}
# Where the model server answers (dockyard_serve): alive, and model loaded.
HEALTH_PATH, READY_PATH = "/health", "/ready"
# A model can take minutes to load: the startup probe allows 5 minutes before liveness starts.
STARTUP_PERIOD, STARTUP_FAILURES = 10, 30
# Waits until each HOST:PORT accepts connections: a Service routes only to ready pods, so
# this is "healthy" as Compose means it. No `$` in it: Kubernetes would expand it.
WAIT = ("import socket, sys, time\n"
        "for target in sys.argv[1:]:\n"
        "    host, port = target.rsplit(':', 1)\n"
        "    for _ in range(300):\n"
        "        try:\n"
        "            socket.create_connection((host, int(port)), 3).close()\n"
        "            break\n"
        "        except OSError:\n"
        "            print('waiting for', target, flush=True)\n"
        "            time.sleep(2)\n"
        "    else:\n"
        "        sys.exit('gave up waiting for ' + target)\n")
WAIT_CONTAINER = "wait-for-services"


class NotRenderable(ValueError):
    """A Workload asks for what a cluster cannot give it (the plan should have adapted it)."""


@dataclass(frozen=True)
class Target:
    """What the objects need besides the Workloads."""

    deploy: DeploySpec
    images: tuple[tuple[str, str], ...] = ()  # local name → the reference a cluster pulls
    config: tuple[tuple[str, str], ...] = ()  # the ConfigMap: non-secret settings
    schedule: str = ""  # the pipeline's cron schedule; "": run once
    claims: tuple[tuple[str, str], ...] = ()  # claim or object name → its [deploy.storage] key

    def claim_spec(self, name: str, mode: str) -> Doc:
        """A volume claim's spec: the size `[deploy.storage]` gives its owner, its class."""
        storage = self.deploy.storage
        spec: Doc = {"accessModes": [mode]}
        if storage.class_name:
            spec["storageClassName"] = storage.class_name
        size = storage.size_of(dict(self.claims).get(name, ""))
        return spec | {"resources": {"requests": {"storage": size}}}

    @property
    def secret_name(self) -> str:
        return f"{self.deploy.name}-secrets"

    @property
    def config_name(self) -> str:
        return f"{self.deploy.name}-config"

    def image(self, w: Workload) -> str:
        return dict(self.images).get(w.image, w.image)


def literal(text: str) -> str:
    """Text Kubernetes must not expand (`$(HOME)` stays as written)."""
    return text.replace("$", "$$")


def labels(w: Workload, t: Target, component: str = "") -> Doc:
    return {**selector(w.name, t), "app.kubernetes.io/component": component or w.role,
            "app.kubernetes.io/part-of": t.deploy.name,
            "app.kubernetes.io/managed-by": "dockyard",
            LABEL_PROJECT: w.project, LABEL_ROLE: w.role}


def selector(name: str, t: Target) -> Doc:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": t.deploy.name}


def pull_policy(image: str) -> str:
    """A digest never changes: IfNotPresent. A tag may move (`latest` does): Always, so a node
    runs what the registry holds now. Versioned tags of official images: IfNotPresent."""
    if "@sha256:" in image:
        return "IfNotPresent"
    if image.startswith("localhost/"):  # only on nodes it was loaded into (kind load, k3d)
        return "IfNotPresent"
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def env(w: Workload, t: Target) -> list[Doc]:
    config = dict(t.config)
    helpers: dict[str, Doc] = {}
    out: list[Doc] = []
    for var in w.env:
        if len(var.parts) == 1 and isinstance(var.parts[0], SecretRef):
            out.append({"name": var.name, "valueFrom": {"secretKeyRef":
                                                        _key(var.parts[0], t)}})
        elif var.secrets:
            for s in var.secrets:
                helpers[s.name] = {"name": SECRET_PREFIX + s.name,
                                   "valueFrom": {"secretKeyRef": _key(s, t)}}
            out.append({"name": var.name, "value": _joined(var)})
        elif config.get(var.name) == var.text:
            out.append({"name": var.name, "valueFrom": {"configMapKeyRef": {
                "name": t.config_name, "key": var.name}}})
        else:
            out.append({"name": var.name, "value": literal(var.text)})
    return [*helpers.values(), *out]


def _key(s: SecretRef, t: Target) -> Doc:
    doc: Doc = {"name": t.secret_name, "key": s.name}
    if not s.required:
        doc["optional"] = True
    return doc


def _joined(var: EnvVar) -> str:
    return "".join(literal(p) if isinstance(p, str) else f"$({SECRET_PREFIX}{p.name})"
                   for p in var.parts)


def seconds(text: str) -> int:
    """'5s', '2m', '1m30s' → seconds (Compose durations)."""
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(ms|h|m|s)?", text):
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "": 1}[unit]
    return max(1, math.ceil(total))


def probes(w: Workload) -> Doc:
    """readiness and liveness from the Workload's probe; a startup probe covers its start
    period. The API answers on its own endpoints."""
    if w.role == "api":
        def get(path: str, period: int, failures: int) -> Doc:
            return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period,
                    "timeoutSeconds": 5, "failureThreshold": failures}
        return {"startupProbe": get(READY_PATH, STARTUP_PERIOD, STARTUP_FAILURES),
                "readinessProbe": get(READY_PATH, 5, 3),
                "livenessProbe": get(HEALTH_PATH, 10, 3)}
    if w.probe is None:
        return {}
    p = w.probe
    period, timeout = seconds(p.interval), seconds(p.timeout)
    check = {**_handler(p), "periodSeconds": period, "timeoutSeconds": timeout,
             "failureThreshold": p.retries}
    startup = {**check, "failureThreshold": math.ceil(seconds(p.start_period) / period)
               + p.retries}
    return {"startupProbe": startup, "readinessProbe": check, "livenessProbe": dict(check)}


def _handler(p: Probe) -> Doc:
    if p.http:
        url = urlsplit(p.http)
        return {"httpGet": {"path": url.path or "/", "port": url.port or 80}}
    command = list(p.command) if p.command else ["sh", "-c", p.shell]
    return {"exec": {"command": command}}


def resources(w: Workload, t: Target, gpus: int) -> Doc:
    """The API's from [deploy]; others from the Workload (the plan fills in defaults): the
    limit, with memory requested in full (it cannot be taken back) and a quarter core."""
    if w.role == "api":
        d = t.deploy
        requests = {"cpu": d.requests.cpu, "memory": d.requests.memory}
        limits: Doc = {"cpu": d.limits.cpu, "memory": d.limits.memory}
    else:
        cpus, memory = w.resources.cpus or 1.0, mebibytes(w.resources.memory or "1g")
        limits = {"cpu": f"{cpus:g}", "memory": memory}
        requests = {"cpu": f"{min(250, int(cpus * 1000))}m", "memory": memory}
    if gpus:
        limits[t.deploy.gpu.resource] = gpus
    return {"requests": requests, "limits": limits}


def mebibytes(size: str) -> str:
    """'2g' → '2Gi', '1536m' → '1536Mi' (Compose sizes as Kubernetes quantities)."""
    mb = memory_mb(size)
    return f"{mb // 1024}Gi" if mb % 1024 == 0 else f"{mb}Mi"


def gpu_count(w: Workload, t: Target) -> int:
    """The API's GPUs from [deploy] gpu; a GPU step's from there too (at least one)."""
    count = t.deploy.gpu.count
    if w.role == "api" and count:
        return count
    if w.resources.gpus:
        return w.resources.gpus if w.resources.gpus > 0 else max(count, 1)
    return 0


def gpu_placement(t: Target) -> Doc:
    """Node selector and tolerations for a pod that has a GPU container."""
    selector_, tolerations = t.deploy.gpu.placement
    return {"nodeSelector": dict(selector_),
            "tolerations": [_toleration(x.key, x.operator, x.value, x.effect)
                            for x in tolerations]}


def _toleration(key: str, operator: str, value: str, effect: str) -> Doc:
    doc: Doc = {"key": key, "operator": operator}
    if value:
        doc["value"] = value
    if effect:
        doc["effect"] = effect
    return doc


def security(w: Workload) -> Doc:
    uid, gid = _user(w)
    return {"allowPrivilegeEscalation": not w.no_new_privileges,
            "capabilities": {"drop": list(w.drop_caps)}, "privileged": False,
            "readOnlyRootFilesystem": w.read_only, "runAsNonRoot": True,
            "runAsUser": uid, "runAsGroup": gid, "seccompProfile": {"type": "RuntimeDefault"}}


def pod_security(w: Workload) -> Doc:
    uid, gid = _user(w)
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "fsGroup": gid,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _user(w: Workload) -> tuple[int, int]:
    if w.user is None or not w.user.uid or w.user.gid is None:
        raise NotRenderable(f"{w.name}: user: a pod needs a numeric non-root uid and gid")
    return w.user.uid, w.user.gid


def volume_name(m: Mount) -> str:
    if m.kind == "scratch":
        return "scratch-" + (re.sub(r"[^a-z0-9]+", "-", m.target.lower()).strip("-") or "root")
    if m.kind == "volume":
        return "data"
    return m.source  # a data folder's claim


def mounts(w: Workload) -> list[Doc]:
    out = []
    for m in w.mounts:
        if m.kind == "bind":
            raise NotRenderable(f"{w.name}: mounts: a host folder ({m.source}) does not exist "
                                "on a cluster")
        doc: Doc = {"name": volume_name(m), "mountPath": m.target}
        if m.read_only:
            doc["readOnly"] = True
        out.append(doc)
    if w.secret_files:
        out.append({"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True})
    return out


def volumes(ws: list[Workload], t: Target, *, claims: bool = True) -> list[Doc]:
    """The pod's volumes for the mounts of its containers (`claims=False`: the stateful
    volume comes from the StatefulSet's claim template)."""
    found: dict[str, Doc] = {}
    items: dict[str, Doc] = {}
    for w in ws:
        for m in w.mounts:
            name = volume_name(m)
            if m.kind == "scratch":
                found[name] = {"name": name, "emptyDir": {}}
            elif m.kind == "data" or (m.kind == "volume" and claims):
                found[name] = {"name": name, "persistentVolumeClaim": {"claimName": m.source}}
        for f in w.secret_files:
            items[f.name] = {"key": f.source.name, "path": f.name}
    if items:
        # Readable by the pod's group (fsGroup): the files belong to root.
        found["secrets"] = {"name": "secrets", "secret": {
            "secretName": t.secret_name, "items": list(items.values()), "defaultMode": 0o440}}
    return list(found.values())


def container(w: Workload, t: Target, name: str = "") -> Doc:
    image = t.image(w)
    doc: Doc = {"name": name or w.name, "image": image, "imagePullPolicy": pull_policy(image)}
    optional: Doc = {
        "args": [literal(a) for a in w.command], "workingDir": w.workdir, "env": env(w, t),
        "ports": [{"name": PORT_NAMES.get(p.container_port, "http"),
                   "containerPort": p.container_port, "protocol": "TCP"} for p in w.ports],
        "volumeMounts": mounts(w),
    }
    doc |= {k: v for k, v in optional.items() if v}
    doc |= probes(w)
    if w.role == "api":
        # Serve while the endpoints drop the pod, then SIGTERM drains (zero-downtime rollout).
        doc["lifecycle"] = {"preStop": {"exec": {"command": [
            "python3", "-c", f"import time; time.sleep({ENDPOINT_DELAY})"]}}}
    doc["resources"] = resources(w, t, gpu_count(w, t))
    doc["securityContext"] = security(w)
    return doc


def wait_container(w: Workload, deps: list[Workload], t: Target) -> Doc:
    """An init container that waits for the Services of DEPS: start order, as Compose's
    `depends_on: service_healthy` gives it (W's image has Python: project images and
    dockyard's MLflow image do)."""
    image = t.image(w)
    return {"name": WAIT_CONTAINER, "image": image, "imagePullPolicy": pull_policy(image),
            "command": ["python3", "-c", WAIT,
                        *(f"{d.name}:{d.ports[0].container_port}" for d in deps)],
            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"},
                          "limits": {"cpu": "100m", "memory": "64Mi"}},
            "securityContext": security(w)}


def pod_spec(main: Workload, t: Target, containers: list[Doc], init: list[Doc],
             volumes_: list[Doc], gpu: bool) -> Doc:
    # No Service links: `<SERVICE>_PORT=tcp://…` variables would shadow settings images read
    # (MLflow reads MLFLOW_PORT, for one).
    spec: Doc = {"serviceAccountName": t.deploy.name, "automountServiceAccountToken": False,
                 "enableServiceLinks": False, "securityContext": pod_security(main)}
    if init:
        spec["initContainers"] = init
    spec["containers"] = containers
    if volumes_:
        spec["volumes"] = volumes_
    if main.stop_timeout:
        spec["terminationGracePeriodSeconds"] = main.stop_timeout
    if gpu:
        spec |= gpu_placement(t)
    return spec
