"""Values the detectors produce. Frozen, JSON-friendly, no behaviour beyond formatting."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from dockyard.detect._urls import redact

Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Finding:
    """Something the user should know about: a conflict, a guess, a problem with a hint."""

    severity: Severity
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Dependency:
    """One declared requirement, normalised (PEP 503 name, PEP 440 specifier)."""

    name: str
    specifier: str = ""
    source: str = ""
    extras: tuple[str, ...] = ()
    marker: str = ""

    def requirement(self) -> str:
        """The PEP 508 line for this dependency."""
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        marker = f" ; {self.marker}" if self.marker else ""
        space = " " if self.specifier.startswith("@") else ""  # `name @ url`, as pip writes it
        return f"{self.name}{extras}{space}{self.specifier}{marker}"


@dataclass(frozen=True)
class UndeclaredImport:
    """A module the code imports that no dependency file declares."""

    module: str
    distribution: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class EnvironmentFolder:
    """Where environment files are read from: "binder", ".binder" or "" (the root), and why."""

    folder: str = ""
    reason: str = "no binder/ or .binder/ folder; environment files are read from the root"

    def path(self, name: str) -> str:
        """`name` inside this folder, as a project-relative path."""
        return f"{self.folder}/{name}" if self.folder else name


ROOT = EnvironmentFolder()  # the project root, when there is no Binder folder


@dataclass(frozen=True)
class OptionalImport:
    """An import the code can live without (guarded, typing-only, or in tests): not installed."""

    module: str
    distribution: str
    files: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class PythonChoice:
    version: str
    source: str


@dataclass(frozen=True)
class Gpu:
    wanted: bool = False
    frameworks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fragment:
    """What one detector found. Every field is optional; `merge` combines fragments."""

    python: tuple[PythonChoice, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    pins: tuple[tuple[str, str, str], ...] = ()  # (name, version, source) from lock files
    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    imports: tuple[tuple[str, str], ...] = ()  # (top-level module, relative file)
    local_modules: tuple[str, ...] = ()
    system_packages: tuple[str, ...] = ()
    data_dirs: tuple[str, ...] = ()
    notebooks: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    # (top-level module, relative file, why it is optional)
    optional_imports: tuple[tuple[str, str, str], ...] = ()
    post_build: str = ""
    start: str = ""
    package: str = ""
    notebook_installs: tuple[Dependency, ...] = ()  # `%pip install` lines, source = notebook


@dataclass(frozen=True)
class Detection:
    """The merged result of every detector for one project."""

    python: PythonChoice
    dependencies: tuple[Dependency, ...] = ()
    pins: tuple[tuple[str, str, str], ...] = ()
    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    undeclared_imports: tuple[UndeclaredImport, ...] = ()
    system_packages: tuple[str, ...] = ()
    gpu: Gpu = field(default_factory=Gpu)
    data_dirs: tuple[str, ...] = ()
    notebooks: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    optional_imports: tuple[OptionalImport, ...] = ()
    environment: EnvironmentFolder = field(default_factory=EnvironmentFolder)
    post_build: str = ""  # Binder's postBuild script, project-relative; "" when absent
    start: str = ""  # Binder's start script, project-relative; "" when absent
    package: str = ""  # what makes the project an installable package (pyproject.toml, setup.py)
    # What notebooks `%pip install` that no dependency file declares; installed like undeclared
    # imports (not with install_undeclared = false).
    notebook_installs: tuple[Dependency, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The `inspect --json` document."""
        doc = asdict(self)
        doc["pins"] = [{"name": n, "version": v, "source": s} for n, v, s in self.pins]
        # Printed to terminals and CI logs: an index's credentials are not.
        doc["index_url"] = redact(self.index_url) if self.index_url else ""
        doc["extra_index_urls"] = [redact(url) for url in self.extra_index_urls]
        return doc
