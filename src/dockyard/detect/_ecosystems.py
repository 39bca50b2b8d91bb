"""Which dependency files are installed when several tools' files are present.

One ecosystem wins, by a fixed order, and the others are named in a finding: combining, say, a
requirements.txt with an environment.yml silently installs a mix neither file describes. The
order follows Binder (repo2docker), which many of these folders were written for, then the
project's own metadata:

1. environment.yml / environment.yaml (conda; its `pip:` list included)
2. Pipfile.lock, else Pipfile (pipenv)
3. requirements.txt, requirements*.txt and requirements/*.txt
4. pyproject.toml: uv.lock, else poetry.lock, else pdm.lock, else its declared dependencies

Within an ecosystem a lock file is the source of truth (`_locks`): its packages are installed as
locked and the manifest's list is not merged in. The losing ecosystems still say which Python
they want; that is checked like every other Python hint.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dockyard.detect._common import concat
from dockyard.detect._conda import detect_conda
from dockyard.detect._conda import files as conda_files
from dockyard.detect._locks import LockRead, lock_files, read_lock
from dockyard.detect._package import detect_package
from dockyard.detect._pipfile import detect_pipfile
from dockyard.detect._pyproject import detect_pyproject
from dockyard.detect._requirements import detect_requirements, requirement_files
from dockyard.detect._setuppy import setuptools_requirements
from dockyard.detect._stale import stale_finding
from dockyard.detect._types import EnvironmentFolder, Finding, Fragment
from dockyard.project import ProjectView

PRECEDENCE = ("environment.yml", "Pipfile", "requirements.txt", "pyproject.toml")


@dataclass(frozen=True)
class Ecosystem:
    """One tool's dependency files that are present, and what its manifest declares."""

    name: str  # "conda", "pipenv", "requirements", "pyproject"
    files: tuple[str, ...]
    fragment: Fragment  # the manifest's; a lock replaces its dependencies when this one wins
    manifest: str = ""
    locks: tuple[tuple[str, str], ...] = ()  # (file, tool), the one installed first


def detect_dependencies(view: ProjectView, env: EnvironmentFolder) -> tuple[Fragment, str]:
    """The winning ecosystem's fragment (plus the others' Python hints), and its name."""
    every = _ecosystems(view, env)
    found = [e for e in every if e.files]
    if not found:
        absent = [e.fragment for e in every]  # e.g. a pyproject.toml with requires-python only
        package = _package_requirements(view, every[-1], alone=True)
        return concat(*(Fragment(python=f.python, findings=f.findings) for f in absent),
                      *([package] if package else [])), ""
    winner = found[0]
    parts = [_locked(view, winner), *(Fragment(python=e.fragment.python) for e in every
                                      if e is not winner)]
    losers = [e for e in found if e is not winner]
    package = (_package_requirements(view, every[-1], alone=False)
               if winner.name != "pyproject" else None)
    if package is not None:
        parts.append(package)
        losers = [e for e in losers if e.name != "pyproject"]
    if losers:
        parts.append(Fragment(findings=(_not_used(winner, losers),)))
    return concat(*parts), winner.name


def _ecosystems(view: ProjectView, env: EnvironmentFolder) -> list[Ecosystem]:
    locks = lock_files(view, env)
    conda = conda_files(view, env)
    pipfile = env.path("Pipfile")
    pipenv_locks = tuple(lock for lock in locks if lock[1] == "pipenv")
    pipenv = [pipfile] if view.exists(pipfile) else []
    requirements = requirement_files(view, env)
    if conda:
        requirements = [r for r in requirements if not _included(view, conda, r)]
    pyproject = detect_pyproject(view)
    pyproject_locks = tuple(lock for lock in locks if lock[1] != "pipenv")
    return [
        Ecosystem("conda", tuple(conda), detect_conda(view, env) if conda else Fragment()),
        Ecosystem("pipenv", (*pipenv, *(f for f, _ in pipenv_locks)),
                  detect_pipfile(view, env), pipfile, pipenv_locks),
        Ecosystem("requirements", tuple(requirements),
                  detect_requirements(view, env) if requirements else Fragment()),
        Ecosystem("pyproject",
                  (*(["pyproject.toml"] if pyproject.dependencies else []),
                   *(f for f, _ in pyproject_locks)),
                  pyproject, "pyproject.toml", pyproject_locks),
    ]


def _package_requirements(view: ProjectView, pyproject: Ecosystem, alone: bool
                          ) -> Fragment | None:
    """A package's own dependencies, whatever ecosystem wins: the project itself is installed
    (without dependencies), and would not import without them. `[project] dependencies`, else
    setuptools' `install_requires` (setup.cfg, setup.py). A setup.py that is not Python 3 is
    only worth a warning when no dependency file (ALONE) says what to install instead."""
    package = detect_package(view).package
    if not package:
        return None
    own = tuple(d for d in pyproject.fragment.dependencies if d.source == "pyproject.toml")
    what = "[project] dependencies"
    findings: tuple[Finding, ...] = ()
    if not own and (view.exists("setup.py") or view.exists("setup.cfg")):
        setuptools = setuptools_requirements(view)
        own, what = setuptools.dependencies, "install_requires"
        findings = setuptools.findings if alone else ()
    if not own:
        return Fragment(findings=findings) if findings else None
    return Fragment(dependencies=own, findings=(*findings, Finding(
        "info", f"{own[0].source}: the package's {len(own)} {what} are installed too (the "
                "project itself is installed, and needs them)")))


def _locked(view: ProjectView, eco: Ecosystem) -> Fragment:
    """The manifest with its dependencies replaced by the first lock's packages, when locked.

    Indexes and Python hints stay the manifest's: a lock lists packages, not where to get them.
    """
    if not eco.locks:
        return eco.fragment
    read = read_lock(view, *eco.locks[0])
    findings = [*eco.fragment.findings, *read.findings, _installed_as_locked(read)]
    stale = stale_finding(view, read.file, read.tool, eco.manifest)
    findings += [stale] if stale is not None else []
    findings += [_other_lock(read, rel) for rel, _ in eco.locks[1:]]
    return dataclasses.replace(eco.fragment, dependencies=read.dependencies, pins=read.pins,
                               findings=tuple(findings))


def _installed_as_locked(read: LockRead) -> Finding:
    return Finding("info", f"{read.file}: {len(read.dependencies)} packages installed as locked "
                   f"(the source of truth for {read.tool}; the manifest's list is not merged in)")


def _other_lock(read: LockRead, rel: str) -> Finding:
    return Finding("warning", f"{rel} not used: {read.file} is the lock file installed",
                   hint=f"keep one lock file; dockyard prefers {read.file}")


def _included(view: ProjectView, conda: list[str], requirements: str) -> bool:
    """A requirements file an environment.yml's `pip:` list includes (`-r`) is part of it."""
    name = requirements.rsplit("/", 1)[-1]
    return any(name in view.read_text(rel) for rel in conda)


def _not_used(winner: Ecosystem, losers: list[Ecosystem]) -> Finding:
    unused = ", ".join(f for e in losers for f in e.files)
    return Finding(
        "warning",
        f"dependencies from {', '.join(winner.files)} ({winner.name}); not used: {unused}",
        hint="one tool's files win (environment.yml, then Pipfile, then requirements*.txt, then "
        "pyproject.toml); remove the others, or list what they add under [dependencies] extra "
        "in dockyard.toml",
    )


