"""Find the project's dashboard app: a Streamlit, Dash, Panel or Gradio script.

A file counts when it imports the framework at top level; names people give such apps win ties,
then the shallower path, then the alphabet, so the answer is stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.project import ProjectView
from dockyard.spec.catalog import FRAMEWORKS

_PREFERRED = ("app.py", "streamlit_app.py", "dashboard.py", "dash_app.py", "main.py")
_IMPORT = re.compile(r"^\s*(?:import|from)\s+(streamlit|dash|panel|gradio)\b", re.MULTILINE)
_MAX_BYTES = 200_000


@dataclass(frozen=True)
class DashboardApp:
    path: str  # relative to the project root
    framework: str


def framework_of(text: str) -> str:
    """The first dashboard framework the source imports, or ""."""
    found = _IMPORT.search(text)
    return found.group(1) if found else ""


def find_apps(view: ProjectView) -> list[DashboardApp]:
    apps = []
    for rel in view.files():
        if not rel.endswith(".py") or rel.startswith(("tests/", "test_")) or rel.count("/") > 2:
            continue
        try:
            if (view.root / rel).stat().st_size > _MAX_BYTES:
                continue
        except OSError:
            continue
        framework = framework_of(view.read_text(rel))
        if framework in FRAMEWORKS:
            apps.append(DashboardApp(rel, framework))
    return sorted(apps, key=_rank)


def _rank(app: DashboardApp) -> tuple[int, int, str]:
    name = app.path.rsplit("/", 1)[-1]
    preferred = _PREFERRED.index(name) if name in _PREFERRED else len(_PREFERRED)
    return preferred, app.path.count("/"), app.path
