"""Pure generators: resolved spec in, `Artifact` values out. Writing is a separate step."""

from __future__ import annotations

from dockyard.generate.artifacts import MARKER, Artifact, is_generated, write_artifacts
from dockyard.generate.context import (
    RUNTIME_DIR,
    dockerignore,
    input_digest,
    merged_requirements,
    requirements_text,
    runtime_artifacts,
)
from dockyard.generate.dockerfile import (
    LOCK_FILE,
    REQUIREMENTS_FILE,
    DockerfileView,
    ServeRole,
    render_dockerfile,
    view_for,
)
from dockyard.generate.indexes import INDEX_SECRET, Indexes, indexes_for
from dockyard.spec import Spec

__all__ = [
    "INDEX_SECRET",
    "LOCK_FILE",
    "MARKER",
    "REQUIREMENTS_FILE",
    "RUNTIME_DIR",
    "Artifact",
    "DockerfileView",
    "Indexes",
    "ServeRole",
    "build_artifacts",
    "dockerignore",
    "indexes_for",
    "input_digest",
    "is_generated",
    "merged_requirements",
    "render_dockerfile",
    "requirements_text",
    "runtime_artifacts",
    "view_for",
    "write_artifacts",
]


def build_artifacts(spec: Spec, *, pinned: str = "", from_source: bool = False,
                    dockerfile: str = "Dockerfile",
                    ignore: str = ".dockerignore", serve: ServeRole | None = None,
                    serve_files: tuple[Artifact, ...] = (),
                    credential_files: tuple[str, ...] = ()) -> list[Artifact]:
    """Everything a build context needs, at the given Dockerfile and ignore-file paths.
    `credential_files` (holding index credentials) are kept out of the context."""
    text = render_dockerfile(view_for(spec, pinned=pinned, from_source=from_source,
                                      serve=serve))
    return [
        Artifact(dockerfile, text),
        Artifact(ignore, dockerignore(spec, credential_files)),
        Artifact(REQUIREMENTS_FILE, requirements_text(spec)),
        *runtime_artifacts(),
        *serve_files,
    ]
