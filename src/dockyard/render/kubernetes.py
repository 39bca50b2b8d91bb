"""Workloads → Kubernetes objects (dicts, dumped as YAML by the caller): pure and ordered.

`objects` gives what production runs (the prod overlay adds only its namespace); `dev_patches`
gives what the dev overlay changes. The Helm chart is made from the same dicts.

- the API: Deployment (rolling updates that never take a ready pod away first, probes on the
  model server's /health and /ready, a startup probe for slow model loads), Service (port 80 →
  http), HorizontalPodAutoscaler (autoscaling/v2) or a fixed replica count,
  PodDisruptionBudget, and an Ingress when [deploy] ingress has a host;
- a dashboard, MLflow: Deployment + Service (MLflow's volume: a PersistentVolumeClaim);
- postgres, redis, minio: StatefulSet with its volume claim + headless Service;
- the pipeline: one Job whose pod runs the steps in order as init containers (the last as its
  container): Kubernetes runs init containers one by one and stops at the first failure, the
  local pipeline's gating. With a schedule, a CronJob runs the same Job;
- one ServiceAccount (no token mounted), the ConfigMap of non-secret settings, a claim per data
  folder, and NetworkPolicies: nothing reaches a pod of the project unless allowed, the API
  and dashboards on their ports, data services only from the project's own pods.

No Secret (`kubectl create secret generic <name>-secrets --from-env-file=.env`) and no
Namespace (the overlay sets it) are rendered.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace

from dockyard.plan.defaults import WORKDIR
from dockyard.render.k8s_pod import (
    Doc,
    NotRenderable,
    Target,
    container,
    gpu_count,
    labels,
    pod_spec,
    selector,
    volume_name,
    volumes,
    wait_container,
)
from dockyard.workload import Workload

__all__ = [
    "SERVICE_ROLES",
    "STATEFUL_ROLES",
    "STEPS_ANNOTATION",
    "DevPatch",
    "Doc",
    "NotRenderable",
    "Target",
    "dev_patches",
    "objects",
    "pipeline_name",
    "stable_name",
]

STATEFUL_ROLES = ("postgres", "redis", "minio")
SERVICE_ROLES = ("api", "dashboard", "mlflow")
STEPS_ANNOTATION = "dockyard.dev/steps"
COPY_CONTAINER = "copy-workspace"  # the pipeline pod's first init container
COPY_TARGET = "/writable-workspace"
# The files, not the folder's own metadata: an emptyDir's root is root's (mode 777), and a
# non-root user may not set its mode or times, so `cp --preserve` failed the pod.
COPY_COMMAND = ("cp", "-R", f"{WORKDIR}/.", COPY_TARGET)
COPY_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"},
                  "limits": {"cpu": "500m", "memory": "128Mi"}}
API_SERVICE_PORT = 80


def objects(workloads: tuple[Workload, ...], t: Target) -> list[Doc]:
    """Every object, in a fixed order: shared ones, then each workload's, then the pipeline."""
    docs: list[Doc] = [_service_account(t)]
    if t.config:
        docs.append(_config_map(t))
    docs += _data_claims(workloads, t)
    docs.append(_deny_all(t))
    for w in workloads:
        if w.role in STATEFUL_ROLES:
            docs += [_stateful_set(w, workloads, t), _service(w, t, headless=True),
                     _network_policy(w, t)]
        elif w.role in SERVICE_ROLES:
            docs += _served(w, workloads, t)
        elif w.role != "step":
            raise NotRenderable(f"{w.name}: role {w.role} has no Kubernetes form")
    steps = [w for w in workloads if w.role == "step"]
    if steps:
        docs.append(_job(steps, workloads, t))
        if t.schedule:
            docs.append(_cron_job(steps, workloads, t))
    return docs


def _meta(name: str, w: Workload | None, t: Target, component: str = "") -> Doc:
    if w is None:
        return {"name": name, "labels": {"app.kubernetes.io/part-of": t.deploy.name,
                                         "app.kubernetes.io/managed-by": "dockyard"}}
    return {"name": name, "labels": labels(w, t, component)}


def _service_account(t: Target) -> Doc:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(t.deploy.name, None, t),
            "automountServiceAccountToken": False}


def _config_map(t: Target) -> Doc:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(t.config_name, None, t),
            "data": dict(t.config)}


def _data_claims(workloads: tuple[Workload, ...], t: Target) -> list[Doc]:
    """A claim per data folder (shared by pods on several nodes: ReadWriteMany) and per
    Deployment's volume (MLflow's: ReadWriteOnce, one pod)."""
    claims: dict[str, Doc] = {}
    for w in workloads:
        for m in w.mounts:
            if m.kind == "data" or (m.kind == "volume" and w.role not in STATEFUL_ROLES):
                mode = "ReadWriteMany" if m.kind == "data" else "ReadWriteOnce"
                claims[m.source] = {
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": _meta(m.source, None, t),
                    "spec": t.claim_spec(m.source if m.kind == "data" else w.name, mode)}
    return list(claims.values())


def _deny_all(t: Target) -> Doc:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _meta(f"{t.deploy.name}-default-deny", None, t),
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of":
                                                     t.deploy.name}},
                     "policyTypes": ["Ingress"]}}


def _network_policy(w: Workload, t: Target) -> Doc:
    """The API and dashboards take traffic from anywhere (the ingress controller) on their
    ports; everything else only from the project's own pods."""
    rule: Doc = {"ports": [{"protocol": "TCP", "port": p.container_port} for p in w.ports]}
    if w.role not in ("api", "dashboard"):
        rule = {"from": [{"podSelector": {"matchLabels": {
            "app.kubernetes.io/part-of": t.deploy.name}}}], **rule}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _meta(w.name, w, t),
            "spec": {"podSelector": {"matchLabels": selector(w.name, t)},
                     "policyTypes": ["Ingress"], "ingress": [rule]}}


def _template(w: Workload, workloads: tuple[Workload, ...], t: Target, *,
              claims: bool = True) -> Doc:
    gpus = gpu_count(w, t)
    init = _waits([w], workloads, t)
    return {"metadata": {"labels": labels(w, t)},
            "spec": pod_spec(w, t, [container(w, t)], init, volumes([w], t, claims=claims),
                             gpu=bool(gpus))}


def _waits(ws: list[Workload], workloads: tuple[Workload, ...], t: Target) -> list[Doc]:
    """One init container waiting for every service WS need healthy (the services any step
    needs, before the first step)."""
    by_name = {x.name: x for x in workloads}
    deps = [by_name[d.name] for w in ws for d in w.depends_on
            if d.condition == "healthy" and d.name in by_name and by_name[d.name].ports]
    unique = list({d.name: d for d in deps}.values())
    return [wait_container(ws[0], unique, t)] if unique else []


def _served(w: Workload, workloads: tuple[Workload, ...], t: Target) -> list[Doc]:
    docs = [_deployment(w, workloads, t), _service(w, t), _network_policy(w, t)]
    if w.role != "api":
        return docs
    if t.deploy.autoscaling.enabled:
        docs.append(_autoscaler(w, t))
    docs.append(_disruption_budget(w, t))
    if t.deploy.ingress.host:
        docs.append(_ingress(w, t))
    return docs


def _deployment(w: Workload, workloads: tuple[Workload, ...], t: Target) -> Doc:
    spec: Doc = {}
    if w.role == "api":
        # The autoscaler owns the count when there is one: no `replicas` to fight it.
        if not t.deploy.autoscaling.enabled:
            spec["replicas"] = t.deploy.replicas
        strategy: Doc = {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    elif any(m.kind == "volume" for m in w.mounts):
        spec["replicas"] = 1
        strategy = {"type": "Recreate"}  # a ReadWriteOnce volume: one pod at a time
    else:
        spec["replicas"] = 1
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0,
                                                               "maxSurge": 1}}
    spec |= {"revisionHistoryLimit": 5, "selector": {"matchLabels": selector(w.name, t)},
             "strategy": strategy, "template": _template(w, workloads, t)}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(w.name, w, t),
            "spec": spec}


def _stateful_set(w: Workload, workloads: tuple[Workload, ...], t: Target) -> Doc:
    claims = [{"metadata": {"name": "data"}, "spec": t.claim_spec(w.name, "ReadWriteOnce")}
              for m in w.mounts if m.kind == "volume"]
    spec: Doc = {"serviceName": w.name, "replicas": 1,
                 "selector": {"matchLabels": selector(w.name, t)},
                 "template": _template(w, workloads, t, claims=False)}
    if claims:
        spec["volumeClaimTemplates"] = claims[:1]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta(w.name, w, t),
            "spec": spec}


def _service(w: Workload, t: Target, headless: bool = False) -> Doc:
    ports = [{"name": p["name"], "port": API_SERVICE_PORT if w.role == "api"
              else p["containerPort"], "targetPort": p["name"], "protocol": "TCP"}
             for p in container(w, t).get("ports", [])]
    spec: Doc = {"type": "ClusterIP", "selector": selector(w.name, t), "ports": ports}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(w.name, w, t),
            "spec": spec}


def _autoscaler(w: Workload, t: Target) -> Doc:
    a = t.deploy.autoscaling
    metrics = [{"type": "Resource", "resource": {"name": name, "target": {
        "type": "Utilization", "averageUtilization": value}}}
        for name, value in (("cpu", a.cpu), ("memory", a.memory)) if value]
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(w.name, w, t),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": w.name},
                     "minReplicas": a.min, "maxReplicas": a.max, "metrics": metrics}}


def _disruption_budget(w: Workload, t: Target) -> Doc:
    # One pod at a time may go in a drain: with several replicas the API keeps serving, and
    # a single replica (dev) does not block the drain forever as minAvailable: 1 would.
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": _meta(w.name, w, t),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(w.name, t)}}}


def _ingress(w: Workload, t: Target) -> Doc:
    i = t.deploy.ingress
    spec: Doc = {}
    if i.class_name:
        spec["ingressClassName"] = i.class_name
    if i.tls_secret:
        spec["tls"] = [{"hosts": [i.host], "secretName": i.tls_secret}]
    spec["rules"] = [{"host": i.host, "http": {"paths": [{
        "path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": w.name, "port": {"name": "http"}}}}]}}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": _meta(w.name, w, t), "spec": spec}


def steps_annotation(steps: list[Workload]) -> str:
    """The steps and their `after` edges (what runs in what order, and why), as JSON."""
    return json.dumps([{"name": s.name,
                        "after": [d.name for d in s.depends_on if d.condition == "completed"],
                        "retries": s.retries, "timeout": s.timeout,
                        "retry_delay": s.retry_delay} for s in steps], separators=(",", ":"))


def _job_spec(steps: list[Workload], workloads: tuple[Workload, ...], t: Target) -> Doc:
    containers = [container(s, t) for s in steps]
    gpu = any(gpu_count(s, t) for s in steps)
    pod = pod_spec(steps[0], t, containers[-1:], [*_copy_workspace(steps, t),
                                                  *_waits(steps, workloads, t),
                                                  *containers[:-1]],
                   volumes(steps, t), gpu=gpu)
    pod["restartPolicy"] = "Never"
    spec: Doc = {"backoffLimit": sum(s.retries for s in steps)}
    if all(s.timeout for s in steps):  # the whole pod, every attempt included
        spec["activeDeadlineSeconds"] = sum(s.timeout for s in steps) * (spec["backoffLimit"] + 1)
    spec["template"] = {"metadata": {"labels": _pipeline_labels(steps, t)}, "spec": pod}
    return spec


def stable_name(doc: Doc) -> str:
    """The object's name without the pipeline Job's spec hash: what files are named after, so
    a changed pipeline changes the Job's name, not the layout's file names."""
    name: str = doc["metadata"]["name"]
    return re.sub(r"-[0-9a-f]{8}$", "", name) if doc["kind"] == "Job" else name


def _copy_workspace(steps: list[Workload], t: Target) -> list[Doc]:
    """The init container that fills the steps' writable /workspace (an emptyDir) with the
    image's project folder, before any step runs."""
    workdir = steps[0].workdir
    mount = next((m for m in steps[0].mounts if m.kind == "scratch" and m.target == workdir),
                 None)
    if mount is None:
        return []
    copier = replace(steps[0], name=COPY_CONTAINER, mounts=(), secret_files=(), env=(),
                     command=COPY_COMMAND)
    doc = container(copier, t)
    doc["volumeMounts"] = [{"name": volume_name(mount), "mountPath": COPY_TARGET}]
    doc["resources"] = {k: dict(v) for k, v in COPY_RESOURCES.items()}
    return [doc]


def pipeline_name(t: Target) -> str:
    return f"{t.deploy.name}-pipeline"


def _pipeline_labels(steps: list[Workload], t: Target) -> Doc:
    return labels(replace(steps[0], name=pipeline_name(t)), t, "pipeline")


def _pipeline_meta(steps: list[Workload], t: Target) -> Doc:
    return {"name": pipeline_name(t), "labels": _pipeline_labels(steps, t),
            "annotations": {STEPS_ANNOTATION: steps_annotation(steps)}}


def _job(steps: list[Workload], workloads: tuple[Workload, ...], t: Target) -> Doc:
    spec = _job_spec(steps, workloads, t)
    # A Job's pod template cannot change once it exists: named after a hash of its spec, a
    # changed pipeline (a new image digest, another step) is a new Job that runs on the next
    # apply, and applying the same layout again leaves the finished one alone.
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]
    meta = {**_pipeline_meta(steps, t), "name": f"{pipeline_name(t)}-{digest}"}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}


def _cron_job(steps: list[Workload], workloads: tuple[Workload, ...], t: Target) -> Doc:
    spec = _job_spec(steps, workloads, t)
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _pipeline_meta(steps, t),
            "spec": {"schedule": t.schedule, "concurrencyPolicy": "Forbid",
                     "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
                     "jobTemplate": {"spec": spec}}}


@dataclass(frozen=True)
class DevPatch:
    """One patch of the dev overlay: the object it targets and the patch (strategic merge)."""

    kind: str
    name: str
    patch: Doc


DEV_CPU_REQUEST = "50m"


def dev_patches(workloads: tuple[Workload, ...], t: Target) -> list[DevPatch]:
    """What the dev overlay changes: one API replica (HPA 1..2), smaller CPU requests for the
    long-running pods (memory requests stay: they are what a pod uses, and a dev cluster
    that cannot give it should say so at scheduling, not by OOM kills), no Ingress (the
    overlay removes it with a `$patch: delete`)."""
    patches: list[DevPatch] = []
    for w in workloads:
        if w.role not in (*SERVICE_ROLES, *STATEFUL_ROLES):
            continue
        kind = "StatefulSet" if w.role in STATEFUL_ROLES else "Deployment"
        cont: Doc = {"name": w.name, "resources": {"requests": {"cpu": DEV_CPU_REQUEST}}}
        spec: Doc = {"template": {"spec": {"containers": [cont]}}}
        if w.role == "api" and not t.deploy.autoscaling.enabled:
            spec = {"replicas": 1, **spec}
        patches.append(DevPatch(kind, w.name, {"spec": spec}))
        if w.role == "api" and t.deploy.autoscaling.enabled:
            patches.append(DevPatch("HorizontalPodAutoscaler", w.name,
                                    {"spec": {"minReplicas": 1,
                                              "maxReplicas": 2}}))
        if w.role == "api" and t.deploy.ingress.host:
            patches.append(DevPatch("Ingress", w.name, {"$patch": "delete"}))
    return patches
