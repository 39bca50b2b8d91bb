"""A pod run on the Docker engine the way a kubelet runs it, as far as a pipeline needs.

No cluster runs on these machines, so the pods that `dockyard k8s` and the Airflow DAGs
describe are run here with what a kubelet would give them: init containers one after another,
then the container; the pod's and container's user, group, fsGroup, read-only root, dropped
capabilities and no-new-privileges; `command` replacing the image's entrypoint and `args` its
CMD; the working directory; plain environment values; and every volume as a host folder (an
emptyDir fresh and open to all, as Kubernetes creates it; a claim a folder that outlives the
pod). A step that fails stops the pod there, as `restartPolicy: Never` does.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Doc = dict[str, Any]


@dataclass
class PodRun:
    ran: list[str]  # the containers that ran, in order, the failed one included
    failed: str  # the container that failed, or ""
    output: str  # its output (the last one's when none failed)
    volumes: dict[str, Path]  # each volume's host folder


def run_pod(docker: str, pod_spec: Doc, claims: dict[str, Path], scratch: Path) -> PodRun:
    """Run the pod; `claims` maps a claim name to its folder, emptyDirs go under `scratch`."""
    volumes = {v["name"]: _volume(v, claims, scratch) for v in pod_spec.get("volumes", [])}
    pod_sc = pod_spec.get("securityContext", {})
    run = PodRun([], "", "", volumes)
    for c in [*pod_spec.get("initContainers", []), *pod_spec["containers"]]:
        proc = subprocess.run([docker, *container_argv(c, pod_sc, volumes)], capture_output=True,
                              text=True, timeout=600, check=False)
        run.ran.append(c["name"])
        run.output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            run.failed = c["name"]
            break
    return run


def container_argv(c: Doc, pod_sc: Doc, volumes: dict[str, Path]) -> list[str]:
    sc = {**pod_sc, **c.get("securityContext", {})}
    argv = ["run", "--rm", "--user", f"{sc['runAsUser']}:{sc['runAsGroup']}"]
    argv += ["--group-add", str(pod_sc["fsGroup"])] if "fsGroup" in pod_sc else []
    argv += ["--cap-drop", "ALL"] if sc.get("capabilities", {}).get("drop") == ["ALL"] else []
    argv += ["--security-opt", "no-new-privileges"] if not sc.get(
        "allowPrivilegeEscalation", True) else []
    argv += ["--read-only"] if sc.get("readOnlyRootFilesystem") else []
    argv += ["-w", c["workingDir"]] if c.get("workingDir") else []
    for m in c.get("volumeMounts", []):
        ro = ":ro" if m.get("readOnly") else ""
        argv += ["-v", f"{volumes[m['name']]}:{m['mountPath']}{ro}"]
    argv += [a for e in c.get("env", []) if "value" in e
             for a in ("-e", f"{e['name']}={e['value']}")]
    command = c.get("command") or []
    argv += ["--entrypoint", command[0]] if command else []
    return [*argv, c["image"], *command[1:], *c.get("args", [])]


def _volume(v: Doc, claims: dict[str, Path], scratch: Path) -> Path:
    if "emptyDir" in v:
        scratch.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{v['name']}-", dir=scratch))
        folder.chmod(0o777)
        return folder
    if "persistentVolumeClaim" in v:
        return claims[v["persistentVolumeClaim"]["claimName"]]
    raise AssertionError(f"volume {v['name']}: only emptyDirs and claims are run here")
