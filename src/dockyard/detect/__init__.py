"""Detectors: small pure functions, one per ecosystem, merged into one `Detection`.

Every detector runs and returns a `Fragment`; `merge` combines them and turns conflicts into
findings. Nothing here reads the process environment or changes directory: detectors see the
project only through a read-only `ProjectView`.
"""

from __future__ import annotations

from dockyard.detect._import_map import is_known
from dockyard.detect._merge import detect
from dockyard.detect._types import (
    Dependency,
    Detection,
    EnvironmentFolder,
    Finding,
    Fragment,
    Gpu,
    OptionalImport,
    PythonChoice,
    UndeclaredImport,
)

__all__ = [
    "Dependency",
    "Detection",
    "EnvironmentFolder",
    "Finding",
    "Fragment",
    "Gpu",
    "OptionalImport",
    "PythonChoice",
    "UndeclaredImport",
    "detect",
    "is_known",
]
