"""``python -m dockyard_serve``: serve the model named by the DOCKYARD_* variables."""

from __future__ import annotations

import sys

from .server import main

if __name__ == "__main__":
    sys.exit(main())
