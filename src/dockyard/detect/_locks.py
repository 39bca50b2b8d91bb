"""Lock files as the source of truth: uv.lock, poetry.lock, Pipfile.lock and pdm.lock.

A lock file is what its tool installs: `pipenv sync`, `poetry install` and `uv sync` install the
locked set, not the manifest. So when a lock is present, its packages (every one, transitive
ones included, at their locked versions) are the dependencies, and the manifest's own list is
not merged in; a lock that no longer matches its manifest is still installed as it is, with a
finding saying it is stale (`_stale`).

Platform conditions are kept as PEP 508 markers, so `pywin32` locked for Windows is skipped in a
Linux image. pipenv and Poetry 2 write a marker per package; for the others, a package's marker
is the union of the markers on the edges that lead to it (a package nothing depends on is a
root, installed unconditionally).

Git, URL and local packages: git and URL ones keep their source; local paths (and the project
itself, which uv and PDM lock as editable or virtual) are left out with a finding for paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from dockyard.detect._common import normalize, parse_toml, table, unique
from dockyard.detect._types import ROOT, Dependency, EnvironmentFolder, Finding
from dockyard.errors import UserError
from dockyard.project import ProjectView

# uv and PDM mark non-index packages with one of these keys (poetry uses [package.source].type).
_LOCAL = frozenset({"path", "editable", "virtual", "directory", "file"})


@dataclass(frozen=True)
class LockRead:
    """What one lock file says: the packages to install, exact pins, and findings."""

    file: str
    tool: str
    dependencies: tuple[Dependency, ...]
    pins: tuple[tuple[str, str, str], ...]  # (name, version, file)
    findings: tuple[Finding, ...] = ()


def lock_files(view: ProjectView, env: EnvironmentFolder = ROOT) -> list[tuple[str, str]]:
    """(file, tool) of every lock present. Pipfile.lock sits with the Pipfile (binder/ or the
    root); the others sit with pyproject.toml, at the root."""
    found = []
    for name, tool in (("uv.lock", "uv"), ("poetry.lock", "poetry"), ("Pipfile.lock", "pipenv"),
                       ("pdm.lock", "pdm")):
        rel = env.path(name) if tool == "pipenv" else name
        if view.exists(rel):
            found.append((rel, tool))
    return found


def read_lock(view: ProjectView, rel: str, tool: str) -> LockRead:
    """The packages `rel` locks, as dependencies with exact versions and platform markers."""
    entries = _READERS[tool](view.read_text(rel), rel, tool)
    deps: list[Dependency] = []
    pins: list[tuple[str, str, str]] = []
    findings: list[Finding] = []
    versions: dict[str, set[str]] = {}
    for entry in entries:
        versions.setdefault(entry.name, set()).add(entry.version)
    forked = sorted(name for name, found in versions.items() if len(found) > 1)
    seen: set[str] = set()
    for entry in entries:
        if entry.local:
            if entry.local != ".":
                findings.append(Finding("info", f"{rel}: local package {entry.name} "
                                        f"({entry.local}) not installed from the lock"))
            continue
        if entry.name in seen:
            continue
        seen.add(entry.name)
        specifier = "" if entry.name in forked else entry.specifier
        deps.append(Dependency(entry.name, specifier, rel, entry.extras, entry.marker))
        if specifier.startswith("=="):
            pins.append((entry.name, entry.version, rel))
    if forked:
        findings.append(Finding("info", f"{rel}: {', '.join(forked)} locked at several versions "
                                "(per platform or Python version); left to the resolver"))
    return LockRead(rel, tool, tuple(deps), tuple(pins), tuple(findings))


@dataclass(frozen=True)
class _Entry:
    name: str
    version: str
    specifier: str  # "==1.2", or "@ git+…" for a VCS or URL package
    marker: str = ""
    extras: tuple[str, ...] = ()
    local: str = ""  # the path of a local package ("." for the project itself)


def _hint(tool: str) -> str:
    return f"regenerate it with `{tool} lock` (a merge conflict may have left markers in it)"


def _packages(doc: dict[str, Any]) -> list[dict[str, Any]]:
    packages = doc.get("package")
    return [
        p for p in (packages if isinstance(packages, list) else [])
        if isinstance(p, dict) and isinstance(p.get("name"), str)
        and isinstance(p.get("version", ""), str)
    ]


def edge_markers(edges: Iterable[tuple[str, str]], names: Iterable[str]) -> dict[str, str]:
    """Each package's marker from the (name, marker) edges pointing at it.

    Unconditional if any edge is (or if nothing points at it: a root); else the edges' markers
    joined with `or`. The parents' own markers are not folded in: platform conditions sit on
    the edge that introduces a platform-specific package, which is what matters in practice.
    """
    incoming: dict[str, list[str]] = {}
    for name, marker in edges:
        incoming.setdefault(normalize(name), []).append(marker.strip())
    return {name: _any_of(unique(incoming.get(name, [""]))) for name in names}


def _any_of(markers: tuple[str, ...]) -> str:
    if "" in markers:
        return ""
    return markers[0] if len(markers) == 1 else " or ".join(f"({m})" for m in markers)


def _uv(text: str, rel: str, tool: str) -> list[_Entry]:
    packages = _packages(parse_toml(text, rel, _hint(tool)))
    edges: list[tuple[str, str]] = []
    for package in packages:
        lists = [package.get("dependencies")]
        for key in ("optional-dependencies", "dev-dependencies"):
            table = package.get(key)
            lists += list(table.values()) if isinstance(table, dict) else []
        for items in lists:
            for dep in items if isinstance(items, list) else []:
                if isinstance(dep, dict) and isinstance(dep.get("name"), str):
                    edges.append((dep["name"], str(dep.get("marker", ""))))
    markers = edge_markers(edges, [normalize(p["name"]) for p in packages])
    return [_uv_entry(p, markers[normalize(p["name"])]) for p in packages]


def _uv_entry(package: dict[str, Any], marker: str) -> _Entry:
    name, version = normalize(package["name"]), str(package.get("version", ""))
    source = table(package, "source")
    local = next((str(source[k]) for k in _LOCAL if k in source), "")
    if local:
        return _Entry(name, version, "", local=local)
    if "git" in source:
        return _Entry(name, version, f"@ {_uv_git(str(source['git']))}", marker)
    if "url" in source:
        return _Entry(name, version, f"@ {source['url']}", marker)
    return _Entry(name, version, f"=={version}", marker)


def _uv_git(locked: str) -> str:
    """uv writes `https://host/repo?rev=main#<commit>`; pip and uv read `git+URL@<commit>`."""
    base, _, commit = locked.partition("#")
    url = base.split("?", 1)[0]
    return f"git+{url}@{commit}" if commit else f"git+{url}"


def _poetry(text: str, rel: str, tool: str) -> list[_Entry]:
    packages = _packages(parse_toml(text, rel, _hint(tool)))
    edges: list[tuple[str, str]] = []
    for package in packages:
        deps = package.get("dependencies")
        for name, value in (deps if isinstance(deps, dict) else {}).items():
            for item in value if isinstance(value, list) else [value]:
                marker = item.get("markers", "") if isinstance(item, dict) else ""
                edges.append((name, str(marker)))
    markers = edge_markers(edges, [normalize(p["name"]) for p in packages])
    return [_poetry_entry(p, markers[normalize(p["name"])]) for p in packages]


def _poetry_entry(package: dict[str, Any], edge_marker: str) -> _Entry:
    name, version = normalize(package["name"]), str(package["version"])
    marker = _poetry_marker(package.get("markers"), edge_marker)
    source = table(package, "source")
    kind = source.get("type")
    if kind in ("directory", "file"):
        return _Entry(name, version, "", local=str(source.get("url", "?")))
    if kind == "git":
        ref = source.get("resolved_reference") or source.get("reference") or ""
        return _Entry(name, version, f"@ git+{source.get('url')}" + (f"@{ref}" if ref else ""),
                      marker)
    if kind == "url":
        return _Entry(name, version, f"@ {source.get('url')}", marker)
    return _Entry(name, version, f"=={version}", marker)  # PyPI, or a private ("legacy") index


def _poetry_marker(locked: Any, edge_marker: str) -> str:
    """Poetry 2 locks a marker per package (or per group); older locks only on edges."""
    if isinstance(locked, str):
        return "" if locked == "*" else locked
    if isinstance(locked, dict) and locked:
        return _any_of(unique("" if v == "*" else str(v) for v in locked.values()))
    return edge_marker


def _pdm(text: str, rel: str, tool: str) -> list[_Entry]:
    packages = _packages(parse_toml(text, rel, _hint(tool)))
    edges: list[tuple[str, str]] = []
    for package in packages:
        for line in package.get("dependencies", []) if isinstance(
                package.get("dependencies"), list) else []:
            try:
                req = Requirement(str(line))
            except InvalidRequirement:
                continue
            edges.append((req.name, str(req.marker) if req.marker else ""))
    markers = edge_markers(edges, [normalize(p["name"]) for p in packages])
    entries = []
    for package in packages:
        name, version = normalize(package["name"]), str(package["version"])
        marker = str(package.get("marker") or markers[name])
        local = next((str(package[k]) for k in _LOCAL if k in package), "")
        if local or "revision" in package:
            entries.append(_Entry(name, version, "", local=local or "."))
        else:
            entries.append(_Entry(name, version, f"=={version}", marker))
    return entries


def _pipenv(text: str, rel: str, tool: str) -> list[_Entry]:
    doc = load_pipfile_lock(text, rel)
    entries: list[_Entry] = []
    for section in ("default", "develop"):
        table = doc.get(section)
        for name, entry in (table if isinstance(table, dict) else {}).items():
            if isinstance(entry, dict):
                entries.append(_pipenv_entry(normalize(name), entry))
    return entries


def load_pipfile_lock(text: str, rel: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{rel}: invalid JSON: {exc}", hint=_hint("pipenv")) from exc
    return doc if isinstance(doc, dict) else {}


def _pipenv_entry(name: str, entry: dict[str, Any]) -> _Entry:
    version = str(entry.get("version", ""))
    marker = str(entry.get("markers", ""))
    extras = tuple(sorted(e for e in entry.get("extras", []) if isinstance(e, str)))
    if "path" in entry or ("file" in entry and not str(entry["file"]).startswith("http")):
        return _Entry(name, version, "", local=str(entry.get("path") or entry.get("file")))
    if isinstance(entry.get("git"), str):
        ref = entry.get("ref")
        url = f"git+{entry['git']}" + (f"@{ref}" if isinstance(ref, str) else "")
        return _Entry(name, version, f"@ {url}", marker, extras)
    if isinstance(entry.get("file"), str):
        return _Entry(name, version, f"@ {entry['file']}", marker, extras)
    return _Entry(name, version.lstrip("="), version, marker, extras)


_READERS: dict[str, Callable[[str, str, str], list[_Entry]]] = {
    "uv": _uv,
    "poetry": _poetry,
    "pipenv": _pipenv,
    "pdm": _pdm,
}
