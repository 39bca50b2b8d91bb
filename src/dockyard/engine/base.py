"""Air-gapped base images: a Debian root from debootstrap, imported into the engine.

For machines that reach Debian's mirror and PyPI but no container registry. The image holds
Debian's own Python (3.11 on bookworm, 3.13 on trixie), venv support and CA certificates, and
behaves like the official python:*-slim for everything dockyard's Dockerfiles need.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard.engine._cmd import docker_client
from dockyard.errors import EngineError, UserError

SUITES = {"3.11": "bookworm", "3.13": "trixie"}
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3", "python3-venv", "ca-certificates", "libexpat1")


def base_tag(python: str) -> str:
    return f"dockyard/python:{python}"


@dataclass(frozen=True)
class BaseResult:
    tag: str
    suite: str
    seconds: float


def build_base(python: str, tag: str = "", mirror: str = MIRROR,
               on_line: Callable[[str], None] | None = None) -> BaseResult:
    suite = SUITES.get(python)
    if suite is None:
        raise UserError(f"no air-gapped base for Python {python}",
                        hint=f"choose one of {', '.join(SUITES)} (Debian's own Python versions)")
    if shutil.which("debootstrap") is None:
        raise UserError("debootstrap is not installed",
                        hint="apt-get install debootstrap (or run scripts/setup.sh)")
    if os.geteuid() != 0:
        raise UserError("building a base image with debootstrap needs root",
                        hint="run `sudo dockyard base`")
    tag = tag or base_tag(python)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dockyard-base-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        _debootstrap(suite, root, mirror, on_line)
        _slim(root)
        _import(root, tag, python, suite)
    return BaseResult(tag, suite, time.monotonic() - started)


def _debootstrap(suite: str, root: Path, mirror: str,
                 on_line: Callable[[str], None] | None) -> None:
    argv = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite,
            str(root), mirror]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if on_line:
                on_line(line.rstrip())
    if proc.returncode != 0:
        tail = "".join(lines[-10:])
        raise EngineError(f"debootstrap {suite} failed (exit {proc.returncode})", argv=argv,
                          returncode=proc.returncode, stderr_tail=tail,
                          hint=f"check that {mirror} is reachable")


def _slim(root: Path) -> None:
    """Drop what a container never needs: downloaded .debs, apt lists, docs, man pages."""
    for rel in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc",
                "usr/share/man", "usr/share/info"):
        folder = root / rel
        if folder.is_dir():
            for child in folder.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                elif child.name != "lock":
                    child.unlink(missing_ok=True)


def _import(root: Path, tag: str, python: str, suite: str) -> None:
    changes = ["ENV LANG=C.UTF-8", 'CMD ["python3"]',
               f"LABEL dev.dockyard.base=air-gapped dev.dockyard.python={python} "
               f"org.opencontainers.image.base.name=debian:{suite}"]
    argv = [docker_client().path, "import"]
    for change in changes:
        argv += ["--change", change]
    argv += ["-", tag]
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(argv, stdin=tar.stdout, capture_output=True, text=True,
                              check=False)
    tar.wait()
    if imported.returncode != 0:
        raise EngineError(f"docker import failed: {imported.stderr.strip()[-300:]}", argv=argv,
                          returncode=imported.returncode, stderr_tail=imported.stderr)
