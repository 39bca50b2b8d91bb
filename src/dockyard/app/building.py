"""`dockyard build`: write the build context's generated files, pick a base, build."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from dockyard.app.context import Project, resolve_ca_cert
from dockyard.engine import base as airgap
from dockyard.engine.images import (
    LABEL_PROJECT,
    LABEL_ROLE,
    BuildRequest,
    BuildResult,
    build,
    image_exists,
    latest_image,
    try_pull,
)
from dockyard.errors import UserError
from dockyard.generate import build_artifacts, write_artifacts
from dockyard.lock import lock_state

BUILD_DOCKERFILE = ".dockyard/Dockerfile"
# BuildKit reads <Dockerfile>.dockerignore before the context's own .dockerignore, so dockyard's
# rules apply without touching a .dockerignore the user wrote.
BUILD_IGNORE = ".dockyard/Dockerfile.dockerignore"


@dataclass(frozen=True)
class BaseChoice:
    image: str
    source: str


@dataclass(frozen=True)
class BuildOutcome:
    result: BuildResult
    base: BaseChoice
    locked: bool
    notes: tuple[str, ...]


def choose_base(project: Project, flag: str | None) -> BaseChoice:
    """--base, DOCKYARD_BASE_IMAGE, the spec, then the official python:<v>-slim."""
    spec = project.spec
    for source, value in (("--base", flag),
                          ("DOCKYARD_BASE_IMAGE", os.environ.get("DOCKYARD_BASE_IMAGE")),
                          (project.loaded.file or "dockyard.toml", spec.base_image)):
        if value:
            _ensure_available(value, spec.python)
            return BaseChoice(value, source)
    official = spec.default_base_image
    if image_exists(official) or try_pull(official):
        return BaseChoice(official, "default")
    local = airgap.base_tag(spec.python)
    if image_exists(local):
        return BaseChoice(local, f"air-gapped base ({official} cannot be pulled)")
    raise _missing_base(official, spec.python)


def _ensure_available(image: str, python: str) -> None:
    if not image_exists(image) and not try_pull(image):
        raise _missing_base(image, python)


def _missing_base(image: str, python: str) -> UserError:
    return UserError(
        f"base image {image} is not on this machine and cannot be pulled",
        hint=f"build one without a registry: `dockyard base --python {python}`",
    )


def build_project(project: Project, *, tag: str = "", base: str | None = None,
                  ca_cert: str | None = None, locked: bool = False, no_cache: bool = False,
                  on_line: Callable[[str], None] | None = None) -> BuildOutcome:
    state = lock_state(project.root, project.spec)
    notes: list[str] = []
    if locked and state != "fresh":
        raise UserError(
            f"dockyard.lock is {state}: it does not match the declared dependencies",
            hint="run `dockyard lock` and commit dockyard.lock, or build without --locked")
    if state == "stale":
        notes.append("dockyard.lock is stale; installing from the declared dependencies "
                     "(run `dockyard lock` to refresh it)")
    use_lock = state == "fresh"
    write_artifacts(project.root, build_artifacts(project.spec, locked=use_lock,
                                                  dockerfile=BUILD_DOCKERFILE,
                                                  ignore=BUILD_IGNORE,
                                                  credential_files=project.credential_files()),
                    force=True)
    choice = choose_base(project, base)
    request = BuildRequest(
        context=project.root, dockerfile=project.root / BUILD_DOCKERFILE,
        tag=tag or project.image, base_image=choice.image,
        labels=(*image_labels(project, choice), (LABEL_ROLE, "lab")),
        ca_cert=resolve_ca_cert(ca_cert), no_cache=no_cache, secrets=project.index_secrets(),
    )
    return BuildOutcome(build(request, on_line), choice, use_lock, tuple(notes))


def image_labels(project: Project, base: BaseChoice) -> tuple[tuple[str, str], ...]:
    return (
        (LABEL_PROJECT, project.spec.project_key),
        ("org.opencontainers.image.base.name", base.image),
        ("org.opencontainers.image.created",
         datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")),
    )


def project_image_ready(project: Project) -> str:
    """The newest image built for this project folder, found by its label (so a `--tag` of
    the user's choosing is found too)."""
    found = latest_image((LABEL_PROJECT, project.spec.project_key), (LABEL_ROLE, "lab"))
    if not found:
        raise UserError(f"no image has been built for {project.root}",
                        hint="run `dockyard build` first")
    return found
