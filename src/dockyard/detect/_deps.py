"""Merging declared dependencies across files, and applying lock-file pins to them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dockyard.detect._types import Dependency, Finding

Pins = dict[str, tuple[str, str]]  # name → (version, lock file)


def merge_dependencies(deps: Iterable[Dependency]) -> tuple[list[Dependency], list[Finding]]:
    """One dependency per name; the first declaration (in file order) wins conflicts.

    An empty specifier is "no opinion", not a conflict: `numpy` in requirements.txt and
    `numpy>=1.26` in pyproject.toml merge to `numpy>=1.26`. Extras are united.
    """
    kept: dict[str, Dependency] = {}
    findings: list[Finding] = []
    for dep in deps:
        first = kept.get(dep.name)
        if first is None:
            kept[dep.name] = dep
            continue
        extras = tuple(sorted(set(first.extras) | set(dep.extras)))
        winner = dep if not first.specifier and dep.specifier else first
        kept[dep.name] = dataclasses.replace(winner, extras=extras)
        if first.specifier and dep.specifier and first.specifier != dep.specifier:
            findings.append(_conflict(first, dep))
    return list(kept.values()), findings


def merge_pins(pins: Iterable[tuple[str, str, str]]) -> tuple[Pins, list[Finding]]:
    """One version per name; the first lock file (uv, poetry, Pipfile, pdm) wins."""
    chosen: Pins = {}
    findings: list[Finding] = []
    for name, version, source in pins:
        if name not in chosen:
            chosen[name] = (version, source)
        elif chosen[name][0] != version:
            first_version, first_source = chosen[name]
            findings.append(
                Finding(
                    "warning",
                    f"{name}: {first_source} pins {first_version} but {source} pins {version}; "
                    f"using {first_version}",
                    hint="keep one lock file, or re-lock both",
                )
            )
    return chosen, findings


def apply_pins(deps: Sequence[Dependency], pins: Pins) -> tuple[list[Dependency], list[Finding]]:
    """Exact pins win: a declared dependency a lock file pins gets `==version`.

    URL dependencies keep their URL: the lock's version of a git checkout is not on any index.
    One info finding per lock file says how many declarations it pinned.
    """
    result: list[Dependency] = []
    findings: list[Finding] = []
    counts = {source: 0 for _, source in pins.values()}
    for dep in deps:
        pin = pins.get(dep.name)
        if pin is None or dep.specifier.startswith("@"):
            result.append(dep)
            continue
        version, source = pin
        counts[source] += 1
        if not _allows(dep.specifier, version):
            findings.append(_stale(dep, version, source))
        result.append(dataclasses.replace(dep, specifier=f"=={version}"))
    findings += [_pinned(source, count) for source, count in counts.items()]
    return result, findings


def _allows(specifier: str, version: str) -> bool:
    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except InvalidSpecifier:
        return True  # not ours to judge here; the declaration's own detector reported it


def _conflict(first: Dependency, later: Dependency) -> Finding:
    return Finding(
        "warning",
        f"{first.name}: {first.source} says {first.specifier} but {later.source} says "
        f"{later.specifier}; using {first.specifier}",
        hint="make the files agree, or remove the package from one of them",
    )


def _stale(dep: Dependency, version: str, source: str) -> Finding:
    return Finding(
        "warning",
        f"{dep.name}: {source} pins {version}, outside {dep.specifier} in {dep.source}; "
        "using the pin",
        hint="the lock file looks out of date: re-lock the project",
    )


def _pinned(source: str, count: int) -> Finding:
    if count == 0:
        return Finding("info", f"{source}: pins none of the declared dependencies")
    noun = "dependency" if count == 1 else "dependencies"
    return Finding("info", f"{source}: exact versions pinned for {count} declared {noun}")
