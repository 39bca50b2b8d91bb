"""Is the project itself an installable Python package?

A pyproject.toml with a `[build-system]` table, or a setup.py: what pip and uv need to build it.
Such a project is installed into the image (editable, without its dependencies, which the
dependency layer installs), so its console scripts and `import pkg` work. A pyproject.toml
without `[build-system]` is configuration or an application (uv calls it virtual), and a lone
setup.cfg cannot be built: neither is installed.
"""

from __future__ import annotations

from dockyard.detect._common import read_toml
from dockyard.detect._types import Fragment
from dockyard.project import ProjectView


def detect_package(view: ProjectView) -> Fragment:
    if view.exists("pyproject.toml"):
        doc = read_toml(view, "pyproject.toml", "")
        if doc is not None and isinstance(doc.get("build-system"), dict):
            return Fragment(package="pyproject.toml")
    if view.exists("setup.py"):
        return Fragment(package="setup.py")
    return Fragment()
