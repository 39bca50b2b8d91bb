"""HEALTHCHECK for dockyard images: exit 0 when the container's HTTP server answers."""

import os
import sys
import urllib.request

URL = os.environ.get("DOCKYARD_HEALTH_URL", "http://127.0.0.1:8888/api")

try:
    with urllib.request.urlopen(URL, timeout=4) as response:
        sys.exit(0 if response.status < 500 else 1)
except Exception:  # any failure means unhealthy; Docker only reads the exit code
    sys.exit(1)
