"""dockyard: from a data-science folder to a reproducible, running container."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
