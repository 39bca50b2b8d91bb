"""Detector for Pipfile: [packages], [dev-packages], [[source]] and [requires]."""

from __future__ import annotations

import re
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dockyard.detect._common import is_default_index, normalize, read_toml, table, unique
from dockyard.detect._types import (
    ROOT,
    Dependency,
    EnvironmentFolder,
    Finding,
    Fragment,
    PythonChoice,
)
from dockyard.project import ProjectView

FILE = "Pipfile"
HINT = "fix the TOML syntax of Pipfile (see https://toml.io)"
_MINOR = re.compile(r"^(\d+)\.(\d+)")
# Pipenv accepts environment markers as plain keys: {version = "*", sys_platform = "== 'linux'"}.
_MARKER_KEYS = (
    "os_name",
    "sys_platform",
    "platform_machine",
    "platform_python_implementation",
    "platform_release",
    "platform_system",
    "platform_version",
    "python_version",
    "python_full_version",
    "implementation_name",
)


def detect_pipfile(view: ProjectView, env: EnvironmentFolder = ROOT) -> Fragment:
    rel = env.path(FILE)
    doc = read_toml(view, rel, HINT)
    if doc is None:
        return Fragment()
    deps: list[Dependency] = []
    findings: list[Finding] = []
    for section, source in (("packages", rel), ("dev-packages", f"{rel} [dev-packages]")):
        for name, value in table(doc, section).items():
            dep, finding = _dependency(name, value, source)
            deps += [dep] if dep is not None else []
            findings += [finding] if finding is not None else []
    index, extra = _sources(doc.get("source"))
    return Fragment(
        python=_python(table(doc, "requires"), rel),
        dependencies=tuple(deps),
        index_url=index,
        extra_index_urls=extra,
        findings=tuple(findings),
    )


def _dependency(name: str, value: Any, source: str) -> tuple[Dependency | None, Finding | None]:
    if isinstance(value, str):
        return _versioned(name, value, source, (), "")
    if not isinstance(value, dict):
        return Dependency(normalize(name), "", source), None
    if "path" in value or "file" in value:
        return None, Finding("info", f"{source}: local package {name} skipped")
    if isinstance(value.get("git"), str):
        ref = value.get("ref")
        url = f"git+{value['git']}" + (f"@{ref}" if isinstance(ref, str) else "")
        return Dependency(normalize(name), f"@ {url}", source), None
    extras = tuple(sorted(e for e in value.get("extras", []) if isinstance(e, str)))
    return _versioned(name, str(value.get("version", "*")), source, extras, _marker(value))


def _versioned(
    name: str, version: str, source: str, extras: tuple[str, ...], marker: str
) -> tuple[Dependency | None, Finding | None]:
    # "*" means any version; a bare "1.2" is how some people write "==1.2".
    spec = version.strip().replace(" ", "")
    spec = "" if spec == "*" else (f"=={spec}" if spec[:1].isdigit() else spec)
    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        finding = Finding(
            "warning", f"{source}: cannot parse version {version!r} of {name}; version left open"
        )
        return Dependency(normalize(name), "", source, extras, marker), finding
    return Dependency(normalize(name), spec, source, extras, marker), None


def _marker(value: dict[str, Any]) -> str:
    parts = [str(value["markers"])] if isinstance(value.get("markers"), str) else []
    parts += [f"{key} {value[key]}" for key in _MARKER_KEYS if isinstance(value.get(key), str)]
    return " and ".join(parts)


def _python(requires: dict[str, Any], rel: str) -> tuple[PythonChoice, ...]:
    version = requires.get("python_version") or requires.get("python_full_version")
    match = _MINOR.match(version) if isinstance(version, str) else None
    if match is None:
        return ()
    return (PythonChoice(f"{match.group(1)}.{match.group(2)}", rel),)


def _sources(value: Any) -> tuple[str, tuple[str, ...]]:
    """The first [[source]] is pipenv's primary index; PyPI there means "no --index-url"."""
    urls = (
        [s["url"] for s in value if isinstance(s, dict) and isinstance(s.get("url"), str)]
        if isinstance(value, list)
        else []
    )
    if not urls:
        return "", ()
    primary = "" if is_default_index(urls[0]) else urls[0]
    return primary, unique(u for u in urls[1:] if not is_default_index(u))
