"""Air-gapped base images: a Debian root from debootstrap, imported into the engine.

For machines that reach Debian's mirror and PyPI but no container registry. The image holds
Debian's own Python (3.9 on bullseye, 3.11 on bookworm, 3.13 on trixie, 3.14 on forky), venv
support and CA certificates, and behaves like the official python:*-slim for everything
dockyard's Dockerfiles need. Its name lives under `localhost/`, a namespace no public registry
serves, so a machine that does reach a registry never pulls a stranger's image in its place.

Every base carries a label with a hash of the recipe that built it (suite, packages, the dpkg
exclusions, the image config, and RECIPE_REVISION for changes to the steps themselves). A base
whose label differs from today's recipe is stale: `doctor` says so, `scripts/setup.sh`
(`dockyard base --if-stale`) rebuilds it, and a build that falls back to it rebuilds it first.
A stale base once hid a broken recipe from CI; a hash cannot.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard import __version__
from dockyard.engine._cmd import Engine
from dockyard.engine.images import drop_if_unnamed, image_id, image_labels
from dockyard.errors import EngineError, UserError
from dockyard.naming import local_image

# Bump when the steps below change in a way the hashed data does not show.
RECIPE_REVISION = 2
SUITES = {"3.9": "bullseye", "3.11": "bookworm", "3.13": "trixie", "3.14": "forky"}
EXTRA_PACKAGES = {"3.14": ("python3.14", "python3.14-venv")}
MIRROR = "http://deb.debian.org/debian"
SCRIPTS = Path("/usr/share/debootstrap/scripts")
LABEL_BASE = "dev.dockyard.base"
LABEL_RECIPE = "dev.dockyard.recipe"
LABEL_VERSION = "dev.dockyard.version"
# Docs, man pages and translations never reach a container's user. dpkg skips them from now
# on, but the *directories* stay: post-install scripts (OpenJDK's update-alternatives, for one)
# create links in /usr/share/man/man1 and fail when it is missing, the classic slim-image trap.
DPKG_EXCLUDES = """\
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
"""
KEPT_DIRS = tuple(f"usr/share/man/man{n}" for n in range(1, 9))


def base_tag(python: str) -> str:
    return local_image("python", python)


def packages(python: str) -> tuple[str, ...]:
    # python3-venv pulls in what debootstrap's simple resolver would miss (distutils, the
    # ensurepip wheels); a suite whose default python3 is another version (forky: 3.13 and
    # 3.14) also gets the versioned packages of the one asked for.
    return ("python3", "python3-venv", *EXTRA_PACKAGES.get(python, ()), "ca-certificates",
            "libexpat1")


def image_changes(python: str, suite: str) -> tuple[str, ...]:
    return ("ENV LANG=C.UTF-8", 'CMD ["python3"]',
            f"LABEL {LABEL_BASE}=air-gapped dev.dockyard.python={python} "
            f"org.opencontainers.image.base.name=debian:{suite}")


def recipe_hash(python: str) -> str:
    """A short hash of everything that decides what a base for `python` contains."""
    suite = supported_suite(python)
    recipe = {"revision": RECIPE_REVISION, "suite": suite, "packages": packages(python),
              "dpkg": DPKG_EXCLUDES, "kept": KEPT_DIRS, "changes": image_changes(python, suite)}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def supported_suite(python: str) -> str:
    """The Debian suite whose own Python is `python`, or a UserError naming the nearest."""
    minor = ".".join(python.split(".")[:2])
    suite = SUITES.get(minor)
    if suite is not None:
        return suite
    raise UserError(f"no air-gapped base for Python {python}: no Debian suite reachable here "
                    "ships it",
                    hint=f"choose {nearest(minor)} (set python = \"X.Y\" in dockyard.toml or "
                         f".python-version; Debian ships {', '.join(SUITES)}), or build where "
                         f"a registry serves python:{minor}-slim")


def nearest(python: str) -> str:
    """The supported version(s) closest to `python`, e.g. "3.11 or 3.13" for 3.12."""
    def minor(version: str) -> int:
        part = version.split(".")[1] if "." in version else ""
        return int(part) if part.isdigit() else 0
    distance = {v: abs(minor(v) - minor(python)) for v in SUITES}
    best = min(distance.values())
    return " or ".join(v for v in SUITES if distance[v] == best)


@dataclass(frozen=True)
class BaseResult:
    tag: str
    suite: str
    seconds: float


def base_state(engine: Engine, ref: str, python: str) -> str:
    """"missing", "stale" (another recipe, or none, built it) or "fresh"."""
    labels = image_labels(engine, ref)
    if labels is None:
        return "missing"
    return "fresh" if labels.get(LABEL_RECIPE) == recipe_hash(python) else "stale"


def build_base(engine: Engine, python: str, tag: str = "", mirror: str = MIRROR,
               on_line: Callable[[str], None] | None = None) -> BaseResult:
    suite = supported_suite(python)
    if shutil.which("debootstrap") is None:
        raise UserError("debootstrap is not installed",
                        hint="apt-get install debootstrap (or run scripts/setup.sh)")
    if os.geteuid() != 0:
        raise UserError("building a base image with debootstrap needs root",
                        hint="run `sudo dockyard base`")
    tag = tag or base_tag(python)
    started = time.monotonic()
    previous = image_id(engine, tag)
    with tempfile.TemporaryDirectory(prefix="dockyard-base-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "root"
        _debootstrap(engine, suite, python, root, mirror, on_line)
        _slim(root)
        _link_python(root, python)
        _import(engine, root, tag, python, suite)
    drop_if_unnamed(engine, previous, LABEL_RECIPE)  # images built on it keep its layers
    return BaseResult(tag, suite, time.monotonic() - started)


def _debootstrap(engine: Engine, suite: str, python: str, root: Path, mirror: str,
                 on_line: Callable[[str], None] | None) -> None:
    argv = ["debootstrap", "--variant=minbase", f"--include={','.join(packages(python))}",
            suite, str(root), mirror]
    if not (SCRIPTS / suite).exists():  # an older debootstrap knows the suite as sid's twin
        argv.append(str(SCRIPTS / "sid"))
    lines: list[str] = []

    def keep(line: str) -> None:
        lines.append(line)
        if on_line:
            on_line(line.rstrip())

    # The engine's runner, so a FakeEngine in tests records debootstrap instead of running it.
    proc = engine.runner.run(argv, on_line=keep)
    if proc.returncode != 0:
        tail = "\n".join(lines[-10:])
        raise EngineError(f"debootstrap {suite} failed (exit {proc.returncode})", argv=argv,
                          returncode=proc.returncode, stderr_tail=tail,
                          hint=f"check that {mirror} is reachable")


def _slim(root: Path) -> None:
    """Drop what a container never needs (downloaded .debs, apt lists, docs, man pages), keep
    the directories packages expect, and have dpkg skip such files from now on."""
    for rel in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for child in (root / rel).glob("*"):
            if child.is_file() and child.name != "lock":
                child.unlink()
    for rel in ("usr/share/doc", "usr/share/man", "usr/share/info"):
        for path in sorted((root / rel).rglob("*"), reverse=True):
            if (path.is_file() or path.is_symlink()) and path.name != "copyright":
                path.unlink()
    for rel in KEPT_DIRS:
        (root / rel).mkdir(parents=True, exist_ok=True)
    (root / "etc/dpkg/dpkg.cfg.d/dockyard-slim").write_text(DPKG_EXCLUDES)


def _link_python(root: Path, python: str) -> None:
    """`python3` and `python` name the asked-for version, whatever the suite's default is."""
    bin_dir = root / "usr/local/bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("python3", "python"):
        link = bin_dir / name
        link.unlink(missing_ok=True)
        link.symlink_to(f"/usr/bin/python{python}")


def _import(engine: Engine, root: Path, tag: str, python: str, suite: str) -> None:
    changes = [*image_changes(python, suite),
               f"LABEL {LABEL_RECIPE}={recipe_hash(python)} {LABEL_VERSION}={__version__}"]
    argv = [engine.client.path, "import"]
    for change in changes:
        argv += ["--change", change]
    argv += ["-", tag]
    imported = engine.runner.run(argv, stdin_from=["tar", "-C", str(root), "-c", "."])
    if imported.returncode != 0:
        raise EngineError(f"docker import failed: {imported.stderr.strip()[-300:]}", argv=argv,
                          returncode=imported.returncode, stderr_tail=imported.stderr)
