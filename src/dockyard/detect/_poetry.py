"""Poetry's tables in pyproject.toml, with its constraint syntax translated to PEP 440."""

from __future__ import annotations

import re
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dockyard.detect._common import is_default_index, normalize, table
from dockyard.detect._types import Dependency, Finding, Fragment, PythonChoice

FILE = "pyproject.toml"
_RELEASE = re.compile(r"\d+(?:\.\d+)*")
# Poetry allows "1.2 <2" (space means AND) and "^ 1.2"; PEP 440 wants commas and no inner space.
_OPERATOR_SPACE = re.compile(r"([<>=!^~]+)\s+")
_AND = re.compile(r"\s*,\s*|\s+")


def read_poetry(doc: dict[str, Any]) -> Fragment:
    """Dependencies of the main table, every group and the legacy dev table; sources; python."""
    poetry = table(doc, "tool", "poetry")
    if not poetry:
        return Fragment()
    tables = [("[tool.poetry.dependencies]", table(poetry, "dependencies"))]
    tables.append(("[tool.poetry.dev-dependencies]", table(poetry, "dev-dependencies")))
    for group, body in sorted(table(poetry, "group").items()):
        tables.append((f"[tool.poetry.group.{group}.dependencies]", table(body, "dependencies")))
    deps: list[Dependency] = []
    findings: list[Finding] = []
    for label, body in tables:
        for name, value in body.items():
            if name.lower() != "python":
                _add(deps, findings, name, value, f"{FILE} {label}")
    index, extra = _sources(poetry.get("source"))
    return Fragment(
        python=_python_hint(table(poetry, "dependencies").get("python")),
        dependencies=tuple(deps),
        index_url=index,
        extra_index_urls=extra,
        findings=tuple(findings),
    )


def poetry_constraint(text: str) -> str | None:
    """Poetry's constraint as a PEP 440 specifier ("" = any version); None if untranslatable.

    `^1.2` → `>=1.2,<2.0`, `~1.2` → `>=1.2,<1.3`, `*` → "", a bare `1.2` is exact (`==1.2`).
    """
    text = _OPERATOR_SPACE.sub(r"\1", text.strip())
    if text in ("", "*"):
        return ""
    if "|" in text:  # PEP 440 has no OR
        return None
    converted = ",".join(_one(part) for part in _AND.split(text) if part)
    try:
        SpecifierSet(converted)
    except InvalidSpecifier:
        return None
    return converted


def _one(part: str) -> str:
    if part.startswith("^"):
        return _bounded(part[1:], caret=True)
    if part.startswith("~") and not part.startswith("~="):
        return _bounded(part[1:], caret=False)
    if part[0].isdigit():
        return f"=={part}"
    if part.startswith("=") and not part.startswith("=="):
        return f"={part}"
    return part


def _bounded(version: str, *, caret: bool) -> str:
    """Caret bumps the first non-zero release part; tilde bumps the minor (major if alone)."""
    match = _RELEASE.match(version)
    if not match:
        return f"=={version}"
    nums = [int(n) for n in match.group().split(".")]
    if caret:
        bump = next((i for i, n in enumerate(nums) if n != 0), len(nums) - 1)
    else:
        bump = min(1, len(nums) - 1)
    upper = [*nums[:bump], nums[bump] + 1] + [0] * (len(nums) - bump - 1)
    return f">={version},<{'.'.join(map(str, upper))}"


def _add(
    deps: list[Dependency], findings: list[Finding], name: str, value: Any, source: str
) -> None:
    if isinstance(value, list):
        # Several constraints for different markers; we cannot pick one without evaluating them.
        findings.append(
            Finding("info", f"{source}: {name} has several constraints; version left open")
        )
        value = "*"
    spec: Any = value
    extras: list[str] = []
    marker = ""
    if isinstance(value, dict):
        if "path" in value:
            findings.append(Finding("info", f"{source}: local package {name} skipped"))
            return
        url = _url(value)
        if url:
            deps.append(Dependency(normalize(name), f"@ {url}", source))
            return
        spec = value.get("version", "*")
        extras = [e for e in value.get("extras", []) if isinstance(e, str)]
        marker = str(value.get("markers", ""))
    specifier = poetry_constraint(spec) if isinstance(spec, str) else None
    if specifier is None:
        findings.append(
            Finding(
                "warning",
                f"{source}: cannot translate {name} = {spec!r} "
                "to a PEP 440 specifier; version left open",
            )
        )
        specifier = ""
    deps.append(Dependency(normalize(name), specifier, source, tuple(sorted(extras)), marker))


def _url(value: dict[str, Any]) -> str:
    if isinstance(value.get("git"), str):
        ref = value.get("rev") or value.get("tag") or value.get("branch")
        return f"git+{value['git']}" + (f"@{ref}" if isinstance(ref, str) else "")
    return value["url"] if isinstance(value.get("url"), str) else ""


def _python_hint(value: Any) -> tuple[PythonChoice, ...]:
    """Poetry's `python = "^3.10"` is the project's requires-python; same file, same source."""
    if not isinstance(value, str):
        return ()
    specifier = poetry_constraint(value)
    if not specifier:
        return ()
    return (PythonChoice(specifier, FILE),)


def _sources(value: Any) -> tuple[str, tuple[str, ...]]:
    """Poetry's package sources: the first primary/default replaces PyPI, the rest are extra.

    Explicit sources (typically the PyTorch CUDA index) are extra too: packages pinned to them
    must find them at install time.
    """
    index = ""
    extra: list[str] = []
    for source in value if isinstance(value, list) else []:
        url = source.get("url") if isinstance(source, dict) else None
        if not isinstance(url, str) or is_default_index(url):
            continue
        primary = source.get("priority", "primary") in ("primary", "default") and not source.get(
            "secondary", False
        )
        if primary and not index:
            index = url
        else:
            extra.append(url)
    return index, tuple(extra)
