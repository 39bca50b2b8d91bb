"""Is a lock file stale against its manifest? Each tool's own test, recomputed here.

* Pipfile.lock stores `_meta.hash.sha256`: pipenv's hash of the Pipfile's sources, requires,
  packages and dev-packages, as sorted compact JSON (plette's `Pipfile.get_hash`).
* poetry.lock stores `metadata.content-hash`: the sha256 of the relevant parts of pyproject.toml
  ([project] dependencies and requires-python, [tool.poetry] dependencies, groups, sources,
  extras) as sorted JSON (Poetry's `Locker._get_content_hash`).
* uv.lock stores no hash: it records the project's own requirements (`requires-dist` of the
  editable or virtual root package); uv calls the lock stale when they differ from pyproject.
pdm.lock's hash covers more than dockyard reads, so it is not checked.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dockyard.detect._common import normalize, parse_toml, strings, table
from dockyard.detect._locks import load_pipfile_lock
from dockyard.detect._types import Finding
from dockyard.project import ProjectView

# When a Pipfile has no [[source]], pipenv hashes it as if it had this one.
_DEFAULT_SOURCE = [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}]
_PIPFILE_TABLES = frozenset({"source", "requires", "packages", "dev-packages", "pipenv",
                             "scripts"})
_POETRY_LEGACY_KEYS = ("dependencies", "source", "extras", "dev-dependencies")
_POETRY_KEYS = (*_POETRY_LEGACY_KEYS, "group")
_POETRY_PROJECT_KEYS = ("requires-python", "dependencies", "optional-dependencies")


def stale_finding(view: ProjectView, lock: str, tool: str, manifest: str) -> Finding | None:
    """A warning when `lock` no longer matches `manifest`; None when fresh or uncheckable."""
    if not view.exists(manifest):
        return None
    manifest_doc = parse_toml(view.read_text(manifest), manifest, f"fix {manifest}")
    lock_text = view.read_text(lock)
    if tool == "pipenv":
        stale = _pipfile_lock_stale(manifest_doc, lock_text, lock)
    elif tool == "poetry":
        stale = _poetry_lock_stale(manifest_doc, parse_toml(lock_text, lock, f"fix {lock}"))
    elif tool == "uv":
        stale = _uv_lock_stale(manifest_doc, parse_toml(lock_text, lock, f"fix {lock}"))
    else:
        return None
    if not stale:
        return None
    return Finding(
        "warning",
        f"{lock} is stale: {manifest} changed since it was locked; installing {lock} as locked",
        hint=f"run `{tool} lock` to bring it up to date with {manifest}",
    )


def pipfile_hashes(pipfile: dict[str, Any]) -> set[str]:
    """The hashes pipenv may have stored: with and without custom package categories."""
    data: dict[str, Any] = {
        "_meta": {
            "sources": pipfile.get("source", _DEFAULT_SOURCE),
            "requires": pipfile.get("requires", {}),
        },
        "default": pipfile.get("packages", {}),
        "develop": pipfile.get("dev-packages", {}),
    }
    categories = {k: v for k, v in pipfile.items() if k not in _PIPFILE_TABLES}
    return {_sha256_json(data, compact=True), _sha256_json({**data, **categories}, compact=True)}


def poetry_content_hash(pyproject: dict[str, Any]) -> str:
    project = table(pyproject, "project")
    poetry = table(pyproject, "tool", "poetry")
    relevant_project = {k: project[k] for k in _POETRY_PROJECT_KEYS if project.get(k) is not None}
    relevant_poetry = {}
    for key in _POETRY_KEYS:
        value = poetry.get(key)
        if value is None and (key not in _POETRY_LEGACY_KEYS or relevant_project):
            continue
        relevant_poetry[key] = value
    content: dict[str, Any] = relevant_poetry
    if relevant_project:
        content = {"project": relevant_project, "tool": {"poetry": relevant_poetry}}
    return _sha256_json(content, compact=False)


def _pipfile_lock_stale(pipfile: dict[str, Any], lock_text: str, lock: str) -> bool:
    meta = load_pipfile_lock(lock_text, lock).get("_meta")
    stored = table(meta, "hash").get("sha256") if isinstance(meta, dict) else None
    return isinstance(stored, str) and stored not in pipfile_hashes(pipfile)


def _poetry_lock_stale(pyproject: dict[str, Any], lock: dict[str, Any]) -> bool:
    stored = table(lock, "metadata").get("content-hash")
    return isinstance(stored, str) and stored != poetry_content_hash(pyproject)


def _uv_lock_stale(pyproject: dict[str, Any], lock: dict[str, Any]) -> bool:
    packages = lock.get("package")
    roots = [p for p in packages if _is_project(p)] if isinstance(packages, list) else []
    if not roots:
        return False
    locked = table(roots[0], "metadata").get("requires-dist", [])
    locked_keys = {
        _key(str(r.get("name", "")), str(r.get("specifier", "")), r.get("extras", []))
        for r in (locked if isinstance(locked, list) else [])
        if isinstance(r, dict)
    }
    declared = _declared(pyproject)
    return declared is not None and locked_keys != declared


def _is_project(package: Any) -> bool:
    """uv locks the project itself as an editable or virtual package at "."."""
    source = package.get("source") if isinstance(package, dict) else None
    return isinstance(source, dict) and "." in (source.get("editable"), source.get("virtual"))


def _declared(pyproject: dict[str, Any]) -> set[tuple[str, str, tuple[str, ...]]] | None:
    project = table(pyproject, "project")
    items = strings(project.get("dependencies"))
    for group in table(project, "optional-dependencies").values():
        items += strings(group)
    keys = set()
    for item in items:
        try:
            req = Requirement(item)
        except InvalidRequirement:
            return None  # not ours to judge; the pyproject detector reports it
        keys.add(_key(req.name, str(req.specifier), sorted(req.extras)))
    return keys


def _key(name: str, specifier: str, extras: Any) -> tuple[str, str, tuple[str, ...]]:
    try:
        spec = str(SpecifierSet(specifier))
    except InvalidSpecifier:
        spec = specifier
    return normalize(name), spec, tuple(sorted(str(e) for e in extras or []))


def _sha256_json(data: Any, *, compact: bool) -> str:
    separators = (",", ":") if compact else None
    text = json.dumps(data, sort_keys=True, separators=separators)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
