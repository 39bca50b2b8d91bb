"""Detector for apt.txt: Debian packages to install in the image, one per line."""

from __future__ import annotations

import re

from dockyard.detect._types import ROOT, EnvironmentFolder, Fragment
from dockyard.errors import UserError
from dockyard.project import ProjectView

FILE = "apt.txt"
# Debian policy §5.6.1: lowercase letters, digits, +, - and .; at least two characters,
# starting with a letter or digit. Checking here also keeps shell syntax out of `apt-get`.
_DEBIAN_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")


def detect_apt(view: ProjectView, env: EnvironmentFolder = ROOT) -> Fragment:
    rel = env.path(FILE)
    if not view.exists(rel):
        return Fragment()
    packages: list[str] = []
    for lineno, raw in enumerate(view.read_text(rel).splitlines(), 1):
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        if not _DEBIAN_NAME.match(name):
            raise UserError(
                f"{rel}:{lineno}: invalid Debian package name {name!r}",
                hint="write one package per line, in lowercase letters, digits, '+', '-' and "
                "'.' (for example libgl1)",
            )
        packages.append(name)
    return Fragment(system_packages=tuple(sorted(set(packages))))
