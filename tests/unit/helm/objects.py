"""A small hand-written object list shaped as `dockyard.render.kubernetes` makes it: the API
(Deployment, Service, HPA, PDB, Ingress), a data folder's claim and a data service, for the
chart generator's own tests (the real renderer's objects are compared in
tests/unit/helm/test_chart_prod.py)."""

from __future__ import annotations

from typing import Any

from dockyard.spec.deploy import GPU_VENDORS, DeploySpec

Doc = dict[str, Any]
API_IMAGE = "registry.example.com/team/churn-serve@sha256:" + "ab" * 32
PROJECT_IMAGE = "registry.example.com/team/churn:latest"


def _labels(name: str, role: str, d: DeploySpec) -> Doc:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": d.name,
            "app.kubernetes.io/part-of": d.name, "app.kubernetes.io/managed-by": "dockyard",
            "dev.dockyard.role": role}


def objects(d: DeploySpec) -> list[Doc]:
    api = f"{d.name}-api"
    meta = {"name": api, "labels": _labels(api, "api", d)}
    limits: Doc = {"cpu": d.limits.cpu, "memory": d.limits.memory}
    if d.gpu.count:
        limits[d.gpu.resource] = d.gpu.count
    pod: Doc = {
        "serviceAccountName": d.name, "automountServiceAccountToken": False,
        "initContainers": [{"name": "wait-db", "image": API_IMAGE,
                            "imagePullPolicy": "IfNotPresent", "command": ["true"]}],
        "containers": [{"name": api, "image": API_IMAGE, "imagePullPolicy": "IfNotPresent",
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "resources": {"requests": {"cpu": d.requests.cpu,
                                                   "memory": d.requests.memory},
                                      "limits": limits}}]}
    if d.gpu.count:
        pod["nodeSelector"] = dict(d.gpu.node_selector) or GPU_VENDORS[d.gpu.vendor][1]
        pod["tolerations"] = [{"key": d.gpu.resource, "operator": "Exists",
                               "effect": "NoSchedule"}]
    spec: Doc = {} if d.autoscaling.enabled else {"replicas": d.replicas}
    spec |= {"selector": {"matchLabels": {"app.kubernetes.io/name": api}},
             "template": {"metadata": {"labels": _labels(api, "api", d)}, "spec": pod}}
    docs: list[Doc] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": d.name},
         "automountServiceAccountToken": False},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta,
         "spec": {"selector": {"app.kubernetes.io/name": api},
                  "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": f"{d.name}-pipeline"},
         "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
             {"name": "train", "image": PROJECT_IMAGE, "imagePullPolicy": "Always"}]}}}},
    ]
    docs += _claims(d)
    a = d.autoscaling
    if a.enabled:
        docs.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                     "metadata": meta, "spec": {
                         "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                            "name": api},
                         "minReplicas": a.min, "maxReplicas": a.max,
                         "metrics": [{"type": "Resource", "resource": {"name": n, "target": {
                             "type": "Utilization", "averageUtilization": v}}}
                             for n, v in (("cpu", a.cpu), ("memory", a.memory)) if v]}})
    i = d.ingress
    if i.host:
        ing: Doc = {}
        if i.class_name:
            ing["ingressClassName"] = i.class_name
        if i.tls_secret:
            ing["tls"] = [{"hosts": [i.host], "secretName": i.tls_secret}]
        ing["rules"] = [{"host": i.host, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": api, "port": {"name": "http"}}}}]}}]
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                     "metadata": meta, "spec": ing})
    return docs


CLAIMS = (("churn-data", "data"), ("churn-db", "db"))  # as plan.cluster.claim_keys gives them


def _claims(d: DeploySpec) -> list[Doc]:
    def spec(key: str, mode: str) -> Doc:
        found: Doc = {"accessModes": [mode]}
        if d.storage.class_name:
            found["storageClassName"] = d.storage.class_name
        return found | {"resources": {"requests": {"storage": d.storage.size_of(key)}}}

    db = {"name": "churn-db", "labels": _labels("churn-db", "postgres", d)}
    return [
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "churn-data", "labels": _labels("churn-data", "data", d)},
         "spec": spec("data", "ReadWriteMany")},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": db, "spec": {
            "serviceName": "churn-db", "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "churn-db"}},
            "template": {"metadata": {"labels": _labels("churn-db", "postgres", d)},
                         "spec": {"containers": [{"name": "churn-db", "image": "postgres:16"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                      "spec": spec("db", "ReadWriteOnce")}]}},
    ]
