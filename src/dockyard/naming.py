"""Names dockyard gives to things it makes (a leaf module: imports nothing of ours).

Images dockyard builds for local use live under `localhost/`: Docker reads the first part of
a reference as a registry host when it is `localhost`, so no public registry namespace can
serve a stranger's image under the same name, and a machine that reaches a registry never
pulls one in place of ours.
"""

from __future__ import annotations

LOCAL_PREFIX = "localhost/dockyard/"


def local_image(name: str, tag: str = "latest") -> str:
    return f"{LOCAL_PREFIX}{name}:{tag}"
