"""Which image a cluster or a scheduler should run: the one dockyard pushed, pinned by digest.

`dockyard push` records each push in `.dockyard/pushed.json` (the reference, the registry's
digest, and the local image id it came from). Generated Kubernetes manifests, Helm values and
Airflow DAGs then name `REPO@sha256:…`, so what runs is byte for byte what was pushed, whatever
later happens to the tag. Without a push the reference is `[deploy] registry`/NAME:latest (or
the local name), and the note says to push first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from dockyard import files
from dockyard.app.context import Project
from dockyard.naming import LOCAL_PREFIX, local_image

PUSHED_FILE = ".dockyard/pushed.json"
Role = Literal["project", "serving"]


@dataclass(frozen=True)
class ImageReference:
    ref: str  # what a manifest or a DAG names
    pinned: bool  # by the digest the registry gave when dockyard pushed it
    note: str = ""  # why it is not pinned, and what to do


def repository_name(project: Project, role: Role) -> str:
    """The image's name in a registry: the project's name, `-serve` for the serving image."""
    return project.spec.name + ("-serve" if role == "serving" else "")


def default_ref(project: Project, role: Role) -> str:
    """`REGISTRY/NAME:latest` when `[deploy] registry` is set, else ""."""
    registry = project.loaded.spec.deploy.registry
    return f"{registry}/{repository_name(project, role)}:latest" if registry else ""


def record_push(project: Project, role: str, ref: str, digest: str, image_id: str,
                source: str = "") -> None:
    """`role`: "project", "serving", or `service_role(kind)`; `source`: the local image."""
    pushed = _read(project)
    pushed[role] = {"ref": ref, "digest": digest, "image_id": image_id,
                    **({"source": source} if source else {})}
    files.write_text(project.root, PUSHED_FILE, json.dumps(pushed, indent=2, sort_keys=True) + "\n")


def service_role(kind: str) -> str:
    return f"service:{kind}"


def service_ref(project: Project, image: str) -> str:
    """Where a service image dockyard built goes: `REGISTRY/dockyard-mlflow:3.17.2`, or ""."""
    registry = project.loaded.spec.deploy.registry
    return f"{registry}/dockyard-{image.removeprefix(LOCAL_PREFIX)}" if registry else ""


def service_reference(project: Project, kind: str, image: str) -> ImageReference:
    """A service image dockyard built (MLflow's), as a cluster pulls it: pinned once
    `dockyard push --service KIND` pushed this very image (this name and version)."""
    entry = pushed(project, service_role(kind))
    if entry and entry.get("source") == image:
        return ImageReference(f"{_repository(entry['ref'])}@{entry['digest']}", True)
    ref = service_ref(project, image)
    if ref:
        return ImageReference(ref, False, f"{image} is dockyard's own build: push it as "
                                          f"{ref} (dockyard push --service {kind}) so the "
                                          "cluster can pull it")
    return ImageReference(image, False, f"{image} is dockyard's own build, on this machine "
                                        "only: set [deploy] registry and run `dockyard push "
                                        f"--service {kind}`")


def pushed(project: Project, role: str) -> dict[str, str] | None:
    entry = _read(project).get(role)
    ok = isinstance(entry, dict) and all(isinstance(entry.get(k), str)
                                         for k in ("ref", "digest", "image_id"))
    return entry if ok else None


def image_reference(project: Project, role: Role, *, local_id: str = "") -> ImageReference:
    """The reference to deploy. `local_id`: the current local image's id when known; a push
    of another image is then reported as out of date (still used: it is what the registry
    holds)."""
    entry = pushed(project, role)
    what = "serving image" if role == "serving" else "project image"
    flag = " --serving" if role == "serving" else ""
    if entry:
        repo = _repository(entry["ref"])
        note = ""
        if local_id and local_id != entry["image_id"]:
            note = (f"the {what} changed since it was pushed as {entry['ref']}: push it again "
                    f"(dockyard push{flag} {entry['ref']}) to deploy the change")
        return ImageReference(f"{repo}@{entry['digest']}", True, note)
    ref = default_ref(project, role)
    if ref:
        return ImageReference(ref, False, f"not pinned by digest: push the {what} first "
                                          f"(dockyard push{flag})")
    return ImageReference(
        local_image(repository_name(project, role)), False,
        f"the {what} is only on this machine: set [deploy] registry and run "
        f"`dockyard push{flag}` so a cluster can pull it")


def _repository(ref: str) -> str:
    """`host:5000/team/name:tag` → `host:5000/team/name` (a port is not a tag)."""
    last = ref.rsplit("/", 1)
    if ":" in last[-1]:
        last[-1] = last[-1].rsplit(":", 1)[0]
    return "/".join(last)


def _read(project: Project) -> dict[str, dict[str, str]]:
    text = files.read_text(project.root, PUSHED_FILE)
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}  # a damaged record is as good as none: the next push writes a fresh one
    return data if isinstance(data, dict) else {}
