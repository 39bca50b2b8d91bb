"""The spec: what the user wrote (`UserSpec`) and what dockyard will do (`Spec`)."""

from __future__ import annotations

from dockyard.spec.load import SPEC_FILE, LoadedSpec, load_spec, parse_spec
from dockyard.spec.model import UserSpec
from dockyard.spec.resolve import RUNTIME_REQUIREMENTS, ServeSpec, Spec, resolve

__all__ = [
    "RUNTIME_REQUIREMENTS",
    "SPEC_FILE",
    "LoadedSpec",
    "ServeSpec",
    "Spec",
    "UserSpec",
    "load_spec",
    "parse_spec",
    "resolve",
]
