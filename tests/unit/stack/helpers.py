"""Helpers shared by the stack unit tests: a project folder from a spec, a stack with images."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dockyard.app.context import Project, load_project
from dockyard.app.service_images import choose_image
from dockyard.generate.compose import compose_document
from dockyard.plan.stack import ProjectContext
from dockyard.render.compose import Doc
from dockyard.spec.catalog import CATALOG
from dockyard.spec.resolve_stack import resolve_stack
from dockyard.spec.stack import StackSpec


def write_project(root: Path, toml: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dockyard.toml").write_text(toml)
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def fixed_key(project: Project, key: str) -> Project:
    """The same project key wherever the checkout lives (it is a hash of the path)."""
    return replace(project, spec=replace(project.spec, project_key=key))


def stack_of(project: Project, mode: str = "official") -> StackSpec:
    """The resolved stack with images chosen as on a machine that has none of them."""
    spec = resolve_stack(project.loaded.spec, project.spec, project.view, project.loaded.file)
    services = tuple(
        replace(s, image=choose_image(CATALOG[s.kind], s.version, mode, lambda _: False).image)
        if CATALOG[s.kind].role == "data" and not s.image_pinned else s
        for s in spec.services)
    return replace(spec, services=services)


def context_of(project: Project) -> ProjectContext:
    return ProjectContext(project.image, f"localhost/dockyard/{project.spec.name}-serve:latest",
                          project.spec.project_key, project.spec.data_dirs)


def document(root: Path, key: str = "proj-00000000") -> Doc:
    project = fixed_key(load_project(root), key)
    return compose_document(stack_of(project), context_of(project))
