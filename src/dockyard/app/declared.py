"""Where a dependency was declared, so an error about it can point at the line to fix."""

from __future__ import annotations

import re
from collections.abc import Iterator

from packaging.utils import canonicalize_name

from dockyard.app.context import Project
from dockyard.generate.context import merged_requirements
from dockyard.spec.checks import requirement_name


def declaration_sites(project: Project, text: str) -> list[tuple[str, str]]:
    """(requirement as installed, "file:line") for every requirement whose name `text`
    mentions, in the order the requirements are listed."""
    sites = dict(_sites(project))
    found = []
    for line in merged_requirements(project.spec):
        name = requirement_name(line)
        pattern = r"(?<![\w.-])" + r"[-_.]".join(map(re.escape, re.split(r"[-_.]", name))) \
            + r"(?![\w-])"
        if re.search(pattern, text, re.I):
            found.append((line, sites.get(name, "the detected imports")))
    return found


def _sites(project: Project) -> Iterator[tuple[str, str]]:
    # Later wins, as in the spec's resolution: extra > declared > runtime > undeclared imports.
    for imp in project.detection.undeclared_imports:
        where = imp.files[0] if imp.files else "the project"
        yield canonicalize_name(imp.distribution), f"{where} (import {imp.module}, undeclared)"
    for dep in project.detection.notebook_installs:
        yield dep.name, f"{dep.source} (pip install in a cell)"
    for line in project.spec.runtime_requirements:
        yield requirement_name(line), "dockyard's image runtime (JupyterLab, notebook runs)"
    for dep in project.detection.dependencies:
        yield dep.name, _line_of(project, dep.source, dep.name)
    spec_file = project.loaded.file or "dockyard.toml"
    for extra in project.loaded.spec.dependencies.extra:
        yield requirement_name(extra), f"{spec_file} [dependencies] extra"


def _line_of(project: Project, rel: str, name: str) -> str:
    """`rel:N` for the first line of `rel` that names the package, else just `rel`."""
    path = project.root / rel.split(":")[0]
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return rel
    words = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
    for number, text in enumerate(lines, 1):
        if any(canonicalize_name(w) == name for w in words.findall(text.split("#")[0])):
            return f"{rel.split(':')[0]}:{number}"
    return rel
