"""Detector for environment.yml / environment.yaml: conda specs translated to PyPI requirements.

dockyard builds on PyPI wheels, not conda, so each conda package is mapped to its PyPI
distribution (`data/conda_map.toml`); packages that exist only on conda channels are skipped
with a warning rather than guessed at.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dockyard.detect._common import concat, load_data, normalize
from dockyard.detect._requirements import Collector
from dockyard.detect._types import (
    ROOT,
    Dependency,
    EnvironmentFolder,
    Finding,
    Fragment,
    PythonChoice,
)
from dockyard.errors import UserError
from dockyard.project import ProjectView

FILES = ("environment.yml", "environment.yaml")
_CHANNEL = re.compile(r"^[^:\s]+::")
_SPEC = re.compile(r"^([A-Za-z0-9_.\-]+)\s*(.*)$")
_EXACT_PYTHON = re.compile(r"^==(\d+\.\d+)(?:\.\d+)?(?:\.\*)?$")
_GPU_HINTS = ("cuda", "cudnn", "nccl", "-gpu")


def detect_conda(view: ProjectView, env: EnvironmentFolder = ROOT) -> Fragment:
    return concat(*(_read(view, rel) for rel in files(view, env)))


def files(view: ProjectView, env: EnvironmentFolder = ROOT) -> list[str]:
    """The environment files present in the environment folder."""
    return [env.path(name) for name in FILES if view.exists(env.path(name))]


def conda_package_names(view: ProjectView, env: EnvironmentFolder = ROOT) -> tuple[str, ...]:
    """The raw conda names (before mapping), for the GPU detector: `pytorch-cuda` says CUDA."""
    names: list[str] = []
    for rel in files(view, env):
        if view.exists(rel):
            names += [_name_and_rest(item)[0] for item in _conda_items(_load(view, rel), rel)]
    return tuple(names)


def conda_spec(rest: str) -> str | None:
    """A conda version spec as a PEP 440 specifier ("" = any); None when untranslatable.

    `=1.26` → `==1.26.*` (conda's single `=` is a prefix match), `=1.26.4=py311h…` → `==1.26.4`
    (build string dropped), `1.26.*` → `==1.26.*`, `>=1.2,<2` unchanged.
    """
    rest = rest.strip().replace(", ", ",")
    if not rest:
        return ""
    if "|" in rest:  # PEP 440 has no OR
        return None
    if rest.startswith("=") and not rest.startswith("=="):
        version, _, build = rest[1:].partition("=")
        return f"=={version}" if build else f"=={_prefix(version)}"
    if rest[0].isdigit():  # "numpy 1.26.*" or "numpy 1.26 py_0"
        return f"=={_wildcard(rest.split()[0])}"
    if rest.startswith("=="):
        return f"=={rest[2:].split('=')[0].split()[0]}"
    return rest.split()[0]


def is_gpu_conda_name(name: str) -> bool:
    """`pytorch-cuda`, `cudatoolkit`, `tensorflow-gpu`, …: the environment was meant for a GPU."""
    return any(hint in name for hint in _GPU_HINTS)


def _read(view: ProjectView, rel: str) -> Fragment:
    doc = _load(view, rel)
    collector = Collector(view)
    python: list[PythonChoice] = []
    for item in _conda_items(doc, rel):
        dep, finding = _conda_dependency(item, rel)
        if dep is not None and dep.name == "python":
            python += _python_hint(dep.specifier, rel)
        elif dep is not None and dep.name != "pip":
            collector.dependencies.append(dep)
        if finding is not None:
            collector.findings.append(finding)
    _read_pip(view, rel, doc, collector)
    return concat(Fragment(python=tuple(python)), collector.fragment())


def _load(view: ProjectView, rel: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(view.read_text(rel))
    except yaml.YAMLError as exc:
        hint = f"fix the YAML syntax of {rel}"
        raise UserError(f"{rel}: invalid YAML: {exc}", hint=hint) from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise UserError(
            f"{rel}: expected a mapping with a 'dependencies' list",
            hint="see https://docs.conda.io (environment files)",
        )
    return doc


def _conda_items(doc: dict[str, Any], rel: str) -> list[str]:
    items = doc.get("dependencies") or []
    if not isinstance(items, list):
        raise UserError(f"{rel}: 'dependencies' must be a list", hint=f"fix {rel}")
    return [item for item in items if isinstance(item, str)]


def _name_and_rest(item: str) -> tuple[str, str]:
    match = _SPEC.match(_CHANNEL.sub("", item.strip()))
    return (match.group(1).lower(), match.group(2)) if match else (item.strip().lower(), "")


def _conda_dependency(item: str, rel: str) -> tuple[Dependency | None, Finding | None]:
    name, rest = _name_and_rest(item)
    if _conda_only(name):
        return None, _conda_only_finding(name, rel)
    specifier = conda_spec(rest)
    finding = None
    if specifier is None or not _valid(specifier):
        finding = Finding(
            "warning",
            f"{rel}: cannot translate conda spec {item!r}; version left open",
            hint="write it like 'numpy>=1.26'",
        )
        specifier = ""
    pypi = _pypi_names().get(name, name)
    return Dependency(normalize(pypi), specifier, rel), finding


def _read_pip(view: ProjectView, rel: str, doc: dict[str, Any], collector: Collector) -> None:
    """The `- pip:` sub-list holds requirement-file lines; report them by their real line."""
    lines = view.read_text(rel).splitlines()
    cursor = 0
    for entry in doc.get("dependencies") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("pip"), list):
            continue
        for item in entry["pip"]:
            text = str(item).strip()
            cursor = _line_of(lines, text, cursor)
            collector.take(rel, cursor + 1, text)


def _line_of(lines: list[str], text: str, start: int) -> int:
    """Index of the first line at or after `start` holding list item `text`; `start` if none."""
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        if stripped.startswith("-") and stripped[1:].strip().strip("'\"") == text:
            return index
    return start


def _python_hint(specifier: str, rel: str) -> list[PythonChoice]:
    if not specifier:
        return []
    exact = _EXACT_PYTHON.match(specifier)
    return [PythonChoice(exact.group(1) if exact else specifier, rel)]


def _conda_only(name: str) -> bool:
    table = load_data("conda_map.toml")["conda_only"]
    return name in table["names"] or name.startswith(tuple(table["prefixes"]))


def _conda_only_finding(name: str, rel: str) -> Finding:
    # The message is stable wording the CLI and tests rely on; the file goes in the hint.
    if is_gpu_conda_name(name):
        hint = (
            "torch, TensorFlow and JAX wheels bundle their CUDA libraries; "
            "set gpu = true in dockyard.toml instead"
        )
    else:
        hint = "if the image needs it as a system library, add the Debian package to apt.txt"
    alternative = _alternatives().get(name)
    if alternative:
        hint = f"PyPI alternative: {alternative}; " + hint
    return Finding(
        "warning",
        f"conda-only package {name} has no PyPI distribution; skipped",
        hint=f"{rel}: {hint}",
    )


@lru_cache(maxsize=1)
def _alternatives() -> dict[str, str]:
    table = load_data("conda_map.toml")["conda_only"].get("alternatives", {})
    return {str(k): str(v) for k, v in table.items()}


@lru_cache(maxsize=1)
def _pypi_names() -> dict[str, str]:
    return {str(k): str(v) for k, v in load_data("conda_map.toml")["pypi_names"].items()}


def _prefix(version: str) -> str:
    return _wildcard(version if version.endswith("*") else f"{version}.*")


def _wildcard(version: str) -> str:
    """Conda writes `1.8*`; PEP 440 wants `1.8.*`."""
    if version.endswith("*") and not version.endswith(".*"):
        return f"{version[:-1].rstrip('.')}.*"
    return version


def _valid(specifier: str) -> bool:
    try:
        SpecifierSet(specifier)
    except InvalidSpecifier:
        return False
    return True
