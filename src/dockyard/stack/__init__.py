"""Stacks: the service catalog, dashboard detection and per-kind compose fragments.

`catalog` says what each kind of service is (images, versions, ports, settings); `dashboard`
finds a Streamlit, Dash, Panel or Gradio app in a project; `services` and `roles` turn resolved
services into Compose service definitions (used by `dockyard.generate.compose`).
"""

from __future__ import annotations

from dockyard.stack.catalog import CATALOG, KINDS, Kind, kind_of

__all__ = ["CATALOG", "KINDS", "Kind", "kind_of"]
