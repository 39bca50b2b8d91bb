"""Merging declared dependencies across the files of one ecosystem."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from dockyard.detect._types import Dependency, Finding


def merge_dependencies(deps: Iterable[Dependency]) -> tuple[list[Dependency], list[Finding]]:
    """One dependency per name; the first declaration (in file order) wins conflicts.

    An empty specifier is "no opinion", not a conflict: `numpy` in requirements.txt and
    `numpy>=1.26` in requirements-dev.txt merge to `numpy>=1.26`. Extras are united.
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


def _conflict(first: Dependency, later: Dependency) -> Finding:
    return Finding(
        "warning",
        f"{first.name}: {first.source} says {first.specifier} but {later.source} says "
        f"{later.specifier}; using {first.specifier}",
        hint="make the files agree, or remove the package from one of them",
    )


def merge_notebook_installs(installs: Iterable[Dependency], declared: Iterable[Dependency]
                            ) -> tuple[list[Dependency], list[Finding]]:
    """What notebooks `pip install` that no dependency file declares, one per name.

    A dependency file wins over a notebook, and the first notebook over later ones; two pins
    that disagree are named, as between dependency files.
    """
    files = {d.name: d for d in declared}
    merged, findings = merge_dependencies(installs)
    kept: list[Dependency] = []
    for install in merged:
        first = files.get(install.name)
        if first is None:
            kept.append(install)
        elif first.specifier and install.specifier and first.specifier != install.specifier:
            findings.append(_conflict(first, install))
    return kept, findings
