"""Load a project once: view, spec file, detection and the resolved spec."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dockyard.detect import Detection, detect
from dockyard.errors import UserError
from dockyard.generate.indexes import INDEX_SECRET, indexes_for
from dockyard.naming import local_image
from dockyard.project import ProjectView
from dockyard.spec import LoadedSpec, Spec, load_spec, resolve
from dockyard.spec.checks import has_credentials
from dockyard.spec.deploy import DeploySpec, resolve_deploy

# Where dependency files and their index URLs live.
_TEXT_SUFFIXES = (".txt", ".in", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".lock", ".conf")


@dataclass(frozen=True)
class Project:
    view: ProjectView
    loaded: LoadedSpec
    detection: Detection
    spec: Spec

    @property
    def root(self) -> Path:
        return self.view.root

    @property
    def image(self) -> str:
        return local_image(self.spec.name)

    @property
    def deploy(self) -> DeploySpec:
        """`[deploy]` resolved (checked only by the commands that read it)."""
        return resolve_deploy(self.loaded.spec.deploy, self.spec.name, gpu=self.spec.gpu,
                              serve_workers=self.spec.serve.workers,
                              file=self.loaded.file or "dockyard.toml")

    @property
    def spec_name(self) -> str:
        """How messages name the spec: its file, or the project when it has none yet."""
        return self.loaded.file or "the project (it has no dockyard.toml yet)"

    def spec_hint(self, change: str) -> str:
        """A hint to change the spec: `change`, after `dockyard init` when there is no file."""
        return change if self.loaded.file else f"run `dockyard init`, then {change}"

    def credential_files(self) -> tuple[str, ...]:
        """Project files that hold an index URL's credentials (requirements.txt with
        `--index-url https://user:TOKEN@…`, a dockyard.toml, …): kept out of every image."""
        urls = (self.spec.index_url, *self.spec.extra_index_urls)
        userinfo = {urlsplit(u).netloc.rsplit("@", 1)[0] for u in urls if u and has_credentials(u)}
        if not userinfo:
            return ()
        found = []
        for rel in self.view.files():
            if not rel.endswith(_TEXT_SUFFIXES) and not rel.rsplit("/", 1)[-1].startswith(
                    ("Pipfile", "requirements")):
                continue
            path = self.root / rel
            if path.stat().st_size <= 2_000_000 and any(
                    secret in self.view.read_text(rel) for secret in userinfo):
                found.append(rel)
        return tuple(found)

    def index_secrets(self) -> tuple[tuple[str, str], ...]:
        """The BuildKit secret the Dockerfile mounts when index URLs carry credentials."""
        text = indexes_for(self.spec).secret_text()
        return ((INDEX_SECRET, text),) if text else ()


def load_project(path: str | Path) -> Project:
    view = ProjectView.open(path)
    loaded = load_spec(view)
    python_hint = loaded.spec.python or "3.11"
    detection = detect(view, default_python=python_hint)
    return Project(view, loaded, detection, resolve(view, loaded, detection))


def resolve_ca_cert(flag: str | None) -> Path | None:
    """--ca-cert, then DOCKYARD_CA_CERT, then the host's PIP_CERT / SSL_CERT_FILE /
    REQUESTS_CA_BUNDLE. A named file that does not exist is an error, not a silent skip."""
    for source, value in (("--ca-cert", flag),
                          ("DOCKYARD_CA_CERT", os.environ.get("DOCKYARD_CA_CERT"))):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise UserError(f"CA bundle {value!r} (from {source}) does not exist",
                                hint="pass an existing PEM file with --ca-cert")
            return path.resolve()
    for var in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        value = os.environ.get(var)
        if value and Path(value).is_file():
            return Path(value).resolve()
    return None
