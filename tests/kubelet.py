"""Pods run on the Docker engine the way a kubelet runs them, as far as dockyard's need.

No cluster runs on these machines, so the pods that `dockyard k8s` and the Airflow DAGs
describe are run here with what a kubelet would give them: init containers one after another,
then the containers; the pod's and container's user, group, fsGroup, read-only root, dropped
capabilities and no-new-privileges; `command` replacing the image's entrypoint and `args` its
CMD; the working directory; the environment in order, `$(NAME)` expanded from the variables
before it, values from a ConfigMap or a Secret; volumes as host folders: an emptyDir fresh and
open to all (as Kubernetes makes one), a claim owned by root and the pod's fsGroup with the
setgid bit (as the kubelet leaves a provisioned volume), a Secret's keys as files of root and
the fsGroup in its defaultMode; Services as network aliases of the pods they select. A step
that fails stops the pod there, as `restartPolicy: Never` does.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Doc = dict[str, Any]


@dataclass
class PodRun:
    ran: list[str]  # the containers that ran, in order, the failed one included
    failed: str  # the container that failed, or ""
    output: str  # its output (the last one's when none failed)
    volumes: dict[str, Path]  # each volume's host folder


@dataclass
class Node:
    """One machine's engine as a kubelet: `objects` are what `kubectl kustomize` renders,
    `secrets` the Secrets' data by name, `image` maps an image name to one on this engine."""

    docker: str
    objects: list[Doc]
    scratch: Path
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    image: Callable[[str], str] = lambda name: name
    network: str = ""
    started: list[str] = field(default_factory=list)
    claims: dict[str, Path] = field(default_factory=dict)  # the layout's claims, once bound

    def run_pod(self, pod: Doc, claims: dict[str, Path]) -> PodRun:
        """Run a pod to completion (a Job's): init containers, then its containers."""
        volumes = self._volumes(pod, claims)
        run = PodRun([], "", "", volumes)
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            proc = self._docker("run", "--rm", *self._argv(c, pod, volumes))
            run.ran.append(c["name"])
            run.output = proc.stdout + proc.stderr
            if proc.returncode != 0:
                run.failed = c["name"]
                break
        return run

    def start(self, kind: str, name: str, timeout: float = 120) -> str:
        """Start the one pod of a Deployment or StatefulSet and wait until its readiness probe
        passes; → its container's name. Its Services' names resolve to it on the network."""
        obj = self.find(kind, name)
        pod, labels = obj["spec"]["template"]["spec"], obj["spec"]["template"]["metadata"]
        claims = {t["metadata"]["name"]: self._claim(f"{name}-{t['metadata']['name']}", pod)
                  for t in obj["spec"].get("volumeClaimTemplates", [])}
        for v in pod.get("volumes", []):  # a PersistentVolumeClaim of the layout
            claim = v.get("persistentVolumeClaim", {}).get("claimName", "")
            if claim:
                self.find("PersistentVolumeClaim", claim)
                claims[claim] = self.claims.get(claim) or self._claim(claim, pod)
                self.claims[claim] = claims[claim]
        volumes = self._volumes(pod, claims)
        for c in pod.get("initContainers", []):
            proc = self._docker("run", "--rm", *self._argv(c, pod, volumes))
            assert proc.returncode == 0, f"{name}/{c['name']}: {proc.stdout}{proc.stderr}"
        [c] = pod["containers"]
        aliases = [a for svc in self.objects if svc["kind"] == "Service"
                   and _selects(svc["spec"].get("selector", {}), labels["labels"])
                   for a in ("--network-alias", svc["metadata"]["name"])]
        container = f"{self.network}-{name}"
        proc = self._docker("run", "--detach", "--name", container, *aliases,
                            *self._argv(c, pod, volumes))
        assert proc.returncode == 0, proc.stderr
        self.started.append(container)
        self._ready(container, c, timeout)
        return container

    def find(self, kind: str, name: str) -> Doc:
        [obj] = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        return obj

    def stop(self) -> None:
        if self.started:
            self._docker("rm", "--force", "--volumes", *self.started)
        self._docker("network", "rm", self.network)

    def __enter__(self) -> Node:
        self.network = self.network or f"kubelet-{os.getpid()}"
        self._docker("network", "create", self.network)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- one container ----

    def _argv(self, c: Doc, pod: Doc, volumes: dict[str, Path]) -> list[str]:
        pod_sc = pod.get("securityContext", {})
        sc = {**pod_sc, **c.get("securityContext", {})}
        argv = ["--user", f"{sc['runAsUser']}:{sc['runAsGroup']}"]
        argv += ["--network", self.network] if self.network else []
        argv += ["--group-add", str(pod_sc["fsGroup"])] if "fsGroup" in pod_sc else []
        argv += ["--cap-drop", "ALL"] if sc.get("capabilities", {}).get("drop") == ["ALL"] else []
        argv += ["--security-opt", "no-new-privileges"] if not sc.get(
            "allowPrivilegeEscalation", True) else []
        argv += ["--read-only"] if sc.get("readOnlyRootFilesystem") else []
        argv += ["-w", c["workingDir"]] if c.get("workingDir") else []
        for m in c.get("volumeMounts", []):
            ro = ":ro" if m.get("readOnly") else ""
            argv += ["-v", f"{volumes[m['name']]}:{m['mountPath']}{ro}"]
        env = self._env(c)
        argv += [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
        command = [_expand(a, env) for a in c.get("command") or []]
        args = [_expand(a, env) for a in c.get("args") or []]
        argv += ["--entrypoint", command[0]] if command else []
        return [*argv, self.image(c["image"]), *command[1:], *args]

    def _env(self, c: Doc) -> dict[str, str]:
        env: dict[str, str] = {}
        for var in c.get("env", []):
            source = var.get("valueFrom", {})
            if "value" in var:
                env[var["name"]] = _expand(var["value"], env)
            elif "secretKeyRef" in source or "configMapKeyRef" in source:
                ref = source.get("secretKeyRef") or source["configMapKeyRef"]
                data = (self.secrets.get(ref["name"], {}) if "secretKeyRef" in source
                        else self.find("ConfigMap", ref["name"]).get("data", {}))
                if ref["key"] in data:
                    env[var["name"]] = data[ref["key"]]
                else:
                    assert ref.get("optional"), f"{var['name']}: no key {ref['key']}"
        return env

    def _ready(self, container: str, c: Doc, timeout: float) -> None:
        probe = c.get("readinessProbe")
        if probe is None:
            return
        if "exec" in probe:
            check = probe["exec"]["command"]
        else:
            port = probe["httpGet"]["port"]
            port = next((p["containerPort"] for p in c.get("ports", [])
                         if p.get("name") == port), port)  # a named port
            url = f"http://127.0.0.1:{port}{probe['httpGet']['path']}"
            check = ["python3", "-c", f"import urllib.request; urllib.request.urlopen({url!r})"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._docker("exec", container, *check).returncode == 0:
                return
            state = self._docker("inspect", "--format", "{{.State.Running}}", container)
            if state.stdout.strip() != "true":
                break
            time.sleep(1)
        logs = self._docker("logs", "--tail", "40", container)
        raise AssertionError(f"{container} never became ready:\n{logs.stdout}{logs.stderr}")

    # ---- volumes ----

    def _volumes(self, pod: Doc, claims: dict[str, Path]) -> dict[str, Path]:
        group = pod.get("securityContext", {}).get("fsGroup", 0)
        found = {}
        for v in pod.get("volumes", []):
            if "emptyDir" in v:
                found[v["name"]] = self._folder(v["name"], 0o777)
            elif "persistentVolumeClaim" in v:
                found[v["name"]] = claims[v["persistentVolumeClaim"]["claimName"]]
            elif "secret" in v:
                found[v["name"]] = self._secret_volume(v, group)
            else:
                raise AssertionError(f"volume {v['name']}: not run here")
        found.update({k: p for k, p in claims.items() if k not in found})
        return found

    def _claim(self, name: str, pod: Doc) -> Path:
        return claim_folder(self._folder(name, 0o755),
                            pod.get("securityContext", {}).get("fsGroup", 0))

    def _secret_volume(self, v: Doc, group: int) -> Path:
        secret = v["secret"]
        folder = self._folder(v["name"], 0o755)
        data = self.secrets[secret["secretName"]]
        for item in secret.get("items") or [{"key": k, "path": k} for k in data]:
            path = folder / item["path"]
            path.write_text(data[item["key"]])
            os.chown(path, 0, group)
            path.chmod(secret.get("defaultMode", 0o644))
        return folder

    def _folder(self, name: str, mode: int) -> Path:
        self.scratch.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.scratch))
        folder.chmod(mode)
        return folder

    def _docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.docker, *args], capture_output=True, text=True,
                              timeout=600, check=False)


def claim_folder(path: Path, fs_group: int) -> Path:
    """A provisioned volume as the kubelet leaves it for a pod with this fsGroup."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, 0, fs_group)
    path.chmod(0o2775)
    return path


def _expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(NAME)`: replaced when NAME was defined before; `$$(` is a literal."""
    return re.sub(r"\$\$\(|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$(" if m.group(1) is None
                  else env.get(m.group(1), m.group(0)), value)


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
