"""`dockyard init` and `dockyard generate`: the project's own files, written safely."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard import files
from dockyard.app.context import Project
from dockyard.errors import UserError
from dockyard.generate import LOCK_FILE, Artifact, build_artifacts, write_artifacts
from dockyard.lock import lock_state
from dockyard.spec.write import spec_text

SPEC_FILE = "dockyard.toml"


def write_spec(project: Project, force: bool = False) -> str:
    """dockyard.toml from what was detected; returns its path."""
    if project.loaded.file.startswith("pyproject.toml"):
        # dockyard.toml would silently win over [tool.dockyard], dropping what it does not
        # repeat (services, pipeline, serve, …).
        raise UserError("this project's spec is in pyproject.toml [tool.dockyard]; a "
                        "dockyard.toml would take its place",
                        hint="edit [tool.dockyard] in pyproject.toml, or move that table to "
                             "dockyard.toml yourself")
    if (project.root / SPEC_FILE).exists() and not force:
        raise UserError("dockyard.toml already exists; not overwriting it",
                        hint="edit it, or pass --force to write a fresh one")
    files.check_target(project.root, SPEC_FILE)
    files.write_text(project.root, SPEC_FILE, spec_text(project.spec, project.detection))
    return str(project.root / SPEC_FILE)


@dataclass(frozen=True)
class Generated:
    artifacts: tuple[Artifact, ...]
    changed: tuple[str, ...]
    locked: bool  # built from dockyard.lock (fresh) rather than the loose requirements


def generate_files(project: Project, force: bool = False) -> Generated:
    """Dockerfile, .dockerignore and the dependency list they use (never over a user's
    file without `force`)."""
    locked = lock_state(project.root, project.spec) == "fresh"
    artifacts = build_artifacts(project.spec, pinned=LOCK_FILE if locked else "",
                                credential_files=project.credential_files())
    changed = write_artifacts(project.root, artifacts, force=force)
    return Generated(tuple(artifacts), tuple(changed), locked)
