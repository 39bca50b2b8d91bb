"""Load a project once: view, spec file, detection and the resolved spec."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dockyard.detect import Detection, detect
from dockyard.errors import UserError
from dockyard.naming import local_image
from dockyard.project import ProjectView
from dockyard.spec import LoadedSpec, Spec, load_spec, resolve


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
