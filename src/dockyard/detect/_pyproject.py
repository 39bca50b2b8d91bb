"""Detector for pyproject.toml: PEP 621, PEP 735 groups, PDM, uv indexes and requires-python.

Poetry's own tables live in `_poetry`. Every table is read (no "this is a Poetry project, so
ignore [project]"): half-migrated projects declare things in both, and the merge reports
disagreements instead of silently picking one.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dockyard.detect._common import (
    concat,
    is_default_index,
    normalize,
    read_toml,
    strings,
    table,
    unique,
)
from dockyard.detect._poetry import read_poetry
from dockyard.detect._reqlines import is_local, local_finding, to_dependency
from dockyard.detect._types import Dependency, Finding, Fragment, PythonChoice
from dockyard.project import ProjectView

FILE = "pyproject.toml"
HINT = "fix the TOML syntax of pyproject.toml (see https://toml.io)"


def detect_pyproject(view: ProjectView) -> Fragment:
    doc = read_toml(view, FILE, HINT)
    if doc is None:
        return Fragment()
    fragment = concat(
        _standard(doc), _dependency_groups(doc), _pdm(doc), read_poetry(doc), _uv_indexes(doc)
    )
    return _without_project(fragment, str(table(doc, "project").get("name", "")))


def _standard(doc: dict[str, Any]) -> Fragment:
    project = table(doc, "project")
    where = f"{FILE} [project] dependencies"
    deps = [to_dependency(item, where, FILE) for item in strings(project.get("dependencies"))]
    for group, items in sorted(table(project, "optional-dependencies").items()):
        label = f"{FILE} [project.optional-dependencies.{group}]"
        deps += [to_dependency(item, label, label) for item in strings(items)]
    python, findings = _requires_python(project.get("requires-python"))
    return Fragment(python=python, dependencies=tuple(deps), findings=findings)


def _requires_python(value: Any) -> tuple[tuple[PythonChoice, ...], tuple[Finding, ...]]:
    if not isinstance(value, str) or not value.strip():
        return (), ()
    try:
        specifier = str(SpecifierSet(value))
    except InvalidSpecifier:
        return (), (
            Finding(
                "warning",
                f"{FILE}: requires-python {value!r} is not a valid specifier; ignored",
                hint="write it like '>=3.10'",
            ),
        )
    return (PythonChoice(specifier, FILE),), ()


def _dependency_groups(doc: dict[str, Any]) -> Fragment:
    """PEP 735 groups. `{include-group = ...}` entries are skipped: every group is read anyway."""
    deps: list[Dependency] = []
    for group, items in sorted(table(doc, "dependency-groups").items()):
        label = f"{FILE} [dependency-groups.{group}]"
        deps += [to_dependency(item, label, label) for item in strings(items)]
    return Fragment(dependencies=tuple(deps))


def _pdm(doc: dict[str, Any]) -> Fragment:
    deps: list[Dependency] = []
    findings: list[Finding] = []
    for group, items in sorted(table(doc, "tool", "pdm", "dev-dependencies").items()):
        label = f"{FILE} [tool.pdm.dev-dependencies.{group}]"
        for item in strings(items):
            # PDM writes editable local packages as "-e file:///${PROJECT_ROOT}/...".
            target = item[3:].strip() if item.startswith("-e ") else item
            if is_local(target):
                findings.append(local_finding(target, label))
            else:
                deps.append(to_dependency(target, label, label))
    return Fragment(dependencies=tuple(deps), findings=tuple(findings))


def _uv_indexes(doc: dict[str, Any]) -> Fragment:
    """[[tool.uv.index]] (default=true replaces PyPI) and the older pip-style uv settings.

    Explicit indexes (typically PyTorch's CUDA wheels) are kept as extra indexes: the packages
    pinned to them must find them when the image is built.
    """
    uv = table(doc, "tool", "uv")
    index = uv.get("index-url") if isinstance(uv.get("index-url"), str) else ""
    extra = strings(uv.get("extra-index-url"))
    entries = uv.get("index")
    for entry in entries if isinstance(entries, list) else []:
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or is_default_index(url):
            continue
        if entry.get("default") is True and not index:
            index = url
        else:
            extra.append(url)
    return Fragment(index_url=str(index), extra_index_urls=unique(extra))


def _without_project(fragment: Fragment, project_name: str) -> Fragment:
    """Drop self-references such as `all = ["myproject[plot,ml]"]`: the project is not on PyPI."""
    own = normalize(project_name)
    if not own:
        return fragment
    kept = tuple(d for d in fragment.dependencies if d.name != own)
    return dataclasses.replace(fragment, dependencies=kept)
