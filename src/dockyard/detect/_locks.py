"""Detector for lock files: uv.lock, poetry.lock, Pipfile.lock and pdm.lock → exact pins.

Only packages from an index are pinned. Git, path and URL sources (and the project itself,
which uv and PDM lock as editable or virtual) are left to the declaration, which already says
where they come from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from dockyard.detect._common import normalize, parse_toml
from dockyard.detect._types import ROOT, EnvironmentFolder, Finding, Fragment
from dockyard.errors import UserError
from dockyard.project import ProjectView

Pin = tuple[str, str]
# uv and PDM mark non-index packages with one of these keys (poetry uses [package.source].type).
_NOT_FROM_INDEX = frozenset({"git", "path", "url", "editable", "virtual", "directory"})


def detect_locks(view: ProjectView, env: EnvironmentFolder = ROOT) -> Fragment:
    """Pins from every lock file present, in the order they win at merge time.

    Pipfile.lock goes with the Pipfile, so it is read from the environment folder (binder/);
    the others go with pyproject.toml, at the root.
    """
    pins: list[tuple[str, str, str]] = []
    findings: list[Finding] = []
    for name, reader, tool in _READERS:
        rel = env.path(name) if name == "Pipfile.lock" else name
        if not view.exists(rel):
            continue
        found, ambiguous = _unique(reader(view.read_text(rel), rel, tool))
        pins += [(name, version, rel) for name, version in found]
        if ambiguous:
            findings.append(
                Finding(
                    "info",
                    f"{rel}: {', '.join(ambiguous)} locked at several versions (per platform or "
                    "Python version); not pinned",
                )
            )
    return Fragment(pins=tuple(pins), findings=tuple(findings))


def _unique(pins: Iterator[Pin]) -> tuple[list[Pin], list[str]]:
    """Pins with one version; names locked at several versions (forked resolutions) apart.

    Choosing between forks would mean evaluating their markers for an image we have not
    resolved yet, so such packages keep their declared specifier instead.
    """
    versions: dict[str, set[str]] = {}
    for name, version in pins:
        versions.setdefault(name, set()).add(version)
    single = sorted((name, next(iter(v))) for name, v in versions.items() if len(v) == 1)
    several = sorted(name for name, v in versions.items() if len(v) > 1)
    return single, several


def _toml_lock(text: str, rel: str, tool: str) -> dict[str, Any]:
    return parse_toml(text, rel, _hint(tool))


def _hint(tool: str) -> str:
    return f"regenerate it with `{tool} lock` (a merge conflict may have left markers in it)"


def _packages(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    packages = doc.get("package")
    for package in packages if isinstance(packages, list) else []:
        if (
            isinstance(package, dict)
            and isinstance(package.get("name"), str)
            and isinstance(package.get("version"), str)
        ):
            yield package


def _uv(text: str, rel: str, tool: str) -> Iterator[Pin]:
    for package in _packages(_toml_lock(text, rel, tool)):
        source = package.get("source")
        if isinstance(source, dict) and _NOT_FROM_INDEX & source.keys():
            continue
        yield normalize(package["name"]), package["version"]


def _poetry(text: str, rel: str, tool: str) -> Iterator[Pin]:
    for package in _packages(_toml_lock(text, rel, tool)):
        source = package.get("source")
        # "legacy" is a private index: still a registry, so the pin holds.
        if isinstance(source, dict) and source.get("type") not in (None, "legacy"):
            continue
        yield normalize(package["name"]), package["version"]


def _pdm(text: str, rel: str, tool: str) -> Iterator[Pin]:
    for package in _packages(_toml_lock(text, rel, tool)):
        if _NOT_FROM_INDEX & package.keys() or "revision" in package:
            continue
        yield normalize(package["name"]), package["version"]


def _pipenv(text: str, rel: str, tool: str) -> Iterator[Pin]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{rel}: invalid JSON: {exc}", hint=_hint(tool)) from exc
    for section in ("default", "develop"):
        entries = doc.get(section) if isinstance(doc, dict) else None
        for name, entry in (entries if isinstance(entries, dict) else {}).items():
            version = entry.get("version") if isinstance(entry, dict) else None
            if isinstance(version, str) and version.startswith("=="):
                yield normalize(name), version[2:]


Reader = Callable[[str, str, str], Iterator[Pin]]
# Order matters: when two lock files pin a package differently, the first one wins.
_READERS: tuple[tuple[str, Reader, str], ...] = (
    ("uv.lock", _uv, "uv"),
    ("poetry.lock", _poetry, "poetry"),
    ("Pipfile.lock", _pipenv, "pipenv"),
    ("pdm.lock", _pdm, "pdm"),
)
