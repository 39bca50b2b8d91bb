"""The Python version: `.python-version` and `runtime.txt`, and choosing among all the hints.

A hint is a `PythonChoice` whose `version` is either an exact "MAJOR.MINOR" (from
.python-version, runtime.txt, environment.yml's `python=3.11`, Pipfile) or a PEP 440 specifier
(requires-python, Poetry's `python = "^3.10"`). Every hint is checked against the chosen
version, so disagreements become warnings instead of being silently overruled.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from dockyard.detect._types import ROOT, EnvironmentFolder, Finding, Fragment, PythonChoice
from dockyard.project import ProjectView

# The minors dockyard builds images for, oldest first; a specifier picks among them.
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
# Precedence by source: the more specific the file, the more it says about *this* project.
PRECEDENCE = (".python-version", "runtime.txt", "pyproject.toml", "environment.y", "Pipfile")
_EXACT = re.compile(r"^\d+\.\d+$")
_MINOR = re.compile(r"(\d+)\.(\d+)")
_RUNTIME = re.compile(r"^python-(\d+)\.(\d+)(?:\.\d+)?$")
# Binder's runtime.txt: `python-3` asks for "a Python 3", i.e. the default; `r-…` is R (reported
# by the Binder detector as unsupported). Neither is a CPython version nor a mistake.
_NO_OPINION = "-"
_NO_OPINION_RUNTIMES = re.compile(r"^(python-?3|r-.*)$", re.IGNORECASE)


def detect_python_files(view: ProjectView, env: EnvironmentFolder = ROOT) -> Fragment:
    """`.python-version` at the root (pyenv reads it there), `runtime.txt` in the env folder."""
    hints: list[PythonChoice] = []
    findings: list[Finding] = []
    for rel, parse in ((".python-version", _python_version), (env.path("runtime.txt"), _runtime)):
        if not view.exists(rel):
            continue
        version = parse(view.read_text(rel))
        if version and version != _NO_OPINION:
            hints.append(PythonChoice(version, rel))
        elif not version:
            hint = _FORMATS[posixpath.basename(rel)]
            findings.append(Finding("warning", f"{rel}: no CPython version found; ignored", hint))
    return Fragment(python=tuple(hints), findings=tuple(findings))


_FORMATS = {
    ".python-version": "write a version such as 3.11",
    "runtime.txt": "write a line such as python-3.11 (Binder's format)",
}


def _python_version(text: str) -> str:
    """pyenv's format: the first non-comment line; "3.11.4", "3.11" or "3.12-dev" all work."""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = _MINOR.match(line)  # a leading "pypy3.10" or "system" is not CPython
            return f"{match.group(1)}.{match.group(2)}" if match else ""
    return ""


def _runtime(text: str) -> str:
    """`python-3.11` or `python-3.11.4` → "3.11"; `python-3` or `r-…` → no opinion; else ""."""
    line = text.strip()
    if _NO_OPINION_RUNTIMES.match(line):
        return _NO_OPINION
    match = _RUNTIME.match(line)
    return f"{match.group(1)}.{match.group(2)}" if match else ""


def choose_python(
    hints: Sequence[PythonChoice], default: str
) -> tuple[PythonChoice, list[Finding]]:
    """The version to build with, and a warning for every hint that disagrees with it."""
    ordered = sorted(hints, key=_rank)  # stable: equal ranks keep detector order
    picks = [(hint, _pick(hint, default)) for hint in ordered]
    findings = [_unusable(hint) for hint, version in picks if not version]
    usable = [(hint, version) for hint, version in picks if version]
    if not usable:
        return PythonChoice(default, "default"), findings
    chosen = PythonChoice(usable[0][1], usable[0][0].source)
    if chosen.version not in SUPPORTED:
        findings.append(_unsupported(chosen))
    findings += [_conflict(chosen, hint) for hint, _ in usable[1:] if _disagrees(chosen, hint)]
    return chosen, findings


def satisfies(minor: str, specifier: str) -> bool:
    """Whether any release of `minor` (say 3.11.0 … 3.11.99) satisfies `specifier`."""
    try:
        spec = SpecifierSet(specifier)
    except InvalidSpecifier:
        return False
    return any(spec.contains(f"{minor}.{patch}", prereleases=True) for patch in (0, 99))


def _rank(hint: PythonChoice) -> int:
    name = posixpath.basename(hint.source)  # binder/runtime.txt ranks as runtime.txt
    ranks = [i for i, prefix in enumerate(PRECEDENCE) if name.startswith(prefix)]
    return ranks[0] if ranks else len(PRECEDENCE)


def _pick(hint: PythonChoice, default: str) -> str:
    """An exact hint is taken as it is; a specifier picks the default, else the newest match."""
    if _EXACT.match(hint.version):
        return hint.version
    if satisfies(default, hint.version):
        return default
    matching = [minor for minor in SUPPORTED if satisfies(minor, hint.version)]
    return matching[-1] if matching else ""


def _unusable(hint: PythonChoice) -> Finding:
    return Finding(
        "warning",
        f"{hint.source} requires Python {hint.version}, which matches none of "
        f"{', '.join(SUPPORTED)}; ignored",
        hint="widen the specifier, or set python in dockyard.toml",
    )


def _unsupported(chosen: PythonChoice) -> Finding:
    # Kept rather than overruled: the user asked for it, and python:<version>-slim may exist.
    return Finding(
        "warning",
        f"{chosen.source} asks for Python {chosen.version}, outside the versions dockyard "
        f"supports ({SUPPORTED[0]} to {SUPPORTED[-1]})",
        hint="upgrade the project, or expect the build to fail",
    )


def _disagrees(chosen: PythonChoice, hint: PythonChoice) -> bool:
    if _EXACT.match(hint.version):
        return hint.version != chosen.version
    return not satisfies(chosen.version, hint.version)


def _conflict(chosen: PythonChoice, hint: PythonChoice) -> Finding:
    said = "requires" if not _EXACT.match(hint.version) else "says"
    return Finding(
        "warning",
        f"{chosen.source} says Python {chosen.version} but {hint.source} {said} "
        f"{hint.version}; using {chosen.version}",
        hint="make the files agree, or set python in dockyard.toml",
    )
