"""Policy checks for generated Kubernetes objects, shared by the Kustomize and Helm tests.

- `pss_violations`: the restricted Pod Security Standard, as a small function over pod specs
  (numeric non-root user, no privilege escalation, capabilities drop ALL, seccomp
  RuntimeDefault, no privileged container, no host namespaces, ports or paths);
- `resource_violations`: CPU and memory requests and limits on every container;
- `validate_objects`: strict validation against the official OpenAPI schemas
  (kubernetes-validate) for Kubernetes 1.30 and the newest version it carries;
- `checkov_failures`: checkov's Kubernetes checks, minus `CHECKOV_SKIPS` (each with why);
- `kustomize`, `tool`: kubectl and checkov, failing under CI=true when missing and skipping
  otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

Doc = dict[str, Any]

# checkov checks that do not apply to what dockyard generates, and why. Everything else must
# pass on every overlay.
CHECKOV_SKIPS = {
    # Official data images (postgres:15, redis:7, minio) are named by their version tag; the
    # project's images are pinned by digest once `dockyard push` has pushed them.
    "CKV_K8S_43": "image should use a digest",
    # IfNotPresent is right for a digest or a version tag (a node reuses what cannot change);
    # Always is used where the tag can move (`latest`).
    "CKV_K8S_15": "image pull policy should be Always",
    # Images run as the user their files belong to: 999 (postgres, redis), 1000 (project
    # images, MinIO, MLflow). A high uid would need chowned images.
    "CKV_K8S_40": "containers should run as a high UID",
    # Connection URLs (DATABASE_URL, REDIS_URL) are what libraries read from the environment;
    # the services themselves read their passwords from files (/run/secrets).
    "CKV_K8S_35": "prefer secrets as files over environment variables",
}

POD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}


def pod_specs(obj: Doc) -> Iterator[tuple[str, Doc]]:
    """(where, pod spec) of every pod an object describes."""
    kind, name = obj.get("kind", ""), obj.get("metadata", {}).get("name", "")
    spec = obj.get("spec", {})
    if kind == "Pod":
        yield f"Pod/{name}", spec
    elif kind == "CronJob":
        yield f"CronJob/{name}", spec["jobTemplate"]["spec"]["template"]["spec"]
    elif kind in POD_KINDS:
        yield f"{kind}/{name}", spec["template"]["spec"]


def containers(pod: Doc) -> Iterator[Doc]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key, [])


def pss_violations(obj: Doc) -> list[str]:
    """Where the object breaks the restricted Pod Security Standard (empty when it does not)."""
    found: list[str] = []
    for where, pod in pod_specs(obj):
        found += [f"{where}: {key}" for key in ("hostNetwork", "hostPID", "hostIPC")
                  if pod.get(key)]
        found += [f"{where}: hostPath volume {v['name']}" for v in pod.get("volumes", [])
                  if "hostPath" in v]
        pod_sc = pod.get("securityContext", {})
        for c in containers(pod):
            found += [f"{where}/{c['name']}: {problem}" for problem in _container(c, pod_sc)]
    return found


def _container(c: Doc, pod_sc: Doc) -> list[str]:
    sc = c.get("securityContext", {})

    def setting(key: str) -> Any:
        return sc.get(key, pod_sc.get(key))

    problems = []
    if sc.get("privileged"):
        problems.append("privileged")
    if setting("runAsNonRoot") is not True:
        problems.append("runAsNonRoot is not true")
    uid = setting("runAsUser")
    if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
        problems.append(f"runAsUser is not a numeric non-root uid ({uid!r})")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    caps = sc.get("capabilities", {})
    if "ALL" not in caps.get("drop", []):
        problems.append("capabilities do not drop ALL")
    if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
        problems.append(f"capabilities add {caps['add']}")
    seccomp = (setting("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        problems.append(f"seccompProfile is {seccomp!r}")
    if any(p.get("hostPort") for p in c.get("ports", [])):
        problems.append("hostPort")
    return problems


def resource_violations(obj: Doc) -> list[str]:
    """Containers without CPU and memory requests and limits."""
    found = []
    for where, pod in pod_specs(obj):
        for c in containers(pod):
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                missing = [k for k in ("cpu", "memory") if k not in res.get(part, {})]
                found += [f"{where}/{c['name']}: no {k} {part[:-1]}" for k in missing]
    return found


def secret_values_in(text: str, values: list[str]) -> list[str]:
    return [v for v in values if v in text]


# ---- tools ----

def tool(name: str, env: str = "") -> str:
    """The tool's path, or fail (CI=true) / skip (locally) saying it is missing."""
    path = os.environ.get(env, "") if env else ""
    path = path or shutil.which(name) or ""
    if path and Path(path).exists():
        return path
    reason = f"{name} is not installed" + (f" (set {env})" if env else "")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs it: {reason}")
    pytest.skip(reason)


def kustomize(folder: Path) -> list[Doc]:
    """`kubectl kustomize FOLDER` (offline), as objects."""
    proc = subprocess.run([tool("kubectl"), "kustomize", str(folder)], capture_output=True,
                          text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def schema_versions() -> tuple[str, str]:
    """1.30 and the newest Kubernetes version kubernetes-validate carries schemas for."""
    from kubernetes_validate.utils import latest_version

    return "1.30.0", str(latest_version())


def validate_objects(objs: list[Doc]) -> list[str]:
    """Every object strictly against the official schemas of both versions: the errors."""
    import kubernetes_validate

    unique = list({json.dumps(o, sort_keys=True): o for o in objs}.values())  # once each
    errors = []
    for version in schema_versions():
        for obj in unique:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                errors.append(f"{version} {obj['kind']}/{obj['metadata']['name']}: "
                              f"{exc.message} at {'.'.join(map(str, exc.path))}")
    return errors


def checkov_failures(folder: Path) -> list[tuple[str, str, str]]:
    """(file, check id, resource) of every failed checkov Kubernetes check under FOLDER, the
    skip list applied. One run for the whole folder (about 4 s)."""
    proc = subprocess.run(
        [tool("checkov", "DOCKYARD_CHECKOV"), "-d", str(folder), "--framework", "kubernetes",
         "--compact", "--quiet", "--skip-download", "-o", "json",
         "--skip-check", ",".join(CHECKOV_SKIPS)],
        capture_output=True, text=True, check=False, timeout=300)
    assert proc.stdout.strip(), proc.stderr
    data = json.loads(proc.stdout)
    reports = data if isinstance(data, list) else [data]
    return [(f["file_path"], f["check_id"], f["resource"])
            for report in reports if isinstance(report, dict) and "results" in report
            for f in report["results"]["failed_checks"]]
