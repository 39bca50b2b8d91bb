"""Which image each data service of a stack runs, and what to do when it is missing.

The spec's `image`, else $DOCKYARD_SERVICE_IMAGES (official | local | auto), where auto takes
the official image if it is on this machine, else dockyard's local build
(`dockyard base --services`) if that is, else the official one (Compose pulls it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.engine._cmd import Engine
from dockyard.engine.images import image_exists, try_pull
from dockyard.engine.service_images import service_image_fresh
from dockyard.errors import DockyardError, UserError
from dockyard.naming import LOCAL_PREFIX
from dockyard.spec.catalog import CATALOG, LOCAL_BUILDS, Kind

MODE_ENV = "DOCKYARD_SERVICE_IMAGES"
MODES = ("auto", "official", "local")


@dataclass(frozen=True)
class ImageChoice:
    image: str
    source: str  # why this one, said for the user


def image_mode() -> str:
    mode = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise UserError(f"{MODE_ENV}={mode!r} is not one of {', '.join(MODES)}",
                        hint=f"unset it, or set it to {' or '.join(MODES)}")
    return mode


def images_on(engine: Engine) -> Callable[[str], bool]:
    """Whether the engine has an image; no engine (or no docker at all) means no."""

    def exists(ref: str) -> bool:
        try:
            return image_exists(engine, ref)
        except DockyardError:
            return False

    return exists


def choose_image(kind: Kind, version: str, mode: str,
                 exists: Callable[[str], bool]) -> ImageChoice:
    official, local = kind.official_image(version), kind.local_image(version)
    if not official:
        return ImageChoice(local, "dockyard's build (`dockyard base --services "
                                  f"{kind.name}`)")
    if not local or mode == "official":
        return ImageChoice(official, "official image")
    if mode == "local":
        return ImageChoice(local, f"local build ({MODE_ENV}=local)")
    if exists(official):
        return ImageChoice(official, "official image, on this machine")
    if exists(local):
        return ImageChoice(local, f"local build: {official} is not on this machine")
    return ImageChoice(official, "official image, to be pulled")


def ensure_image(engine: Engine, kind: Kind, image: str) -> None:
    """The image is here (and, when dockyard built it, by today's recipe), or pulled now; else
    an error saying how to get one."""
    ours = image.startswith(LOCAL_PREFIX)
    if image_exists(engine, image):
        if ours and kind.name in LOCAL_BUILDS and not service_image_fresh(engine, image):
            raise UserError(f"image {image} was built by an older recipe of dockyard",
                            hint=f"rebuild it: `dockyard base --services {kind.name}`")
        return
    local = kind.name in LOCAL_BUILDS
    if not ours and try_pull(engine, image):
        return
    if local:
        raise UserError(f"image {image} for {kind.name} is not on this machine"
                        + ("" if ours else " and cannot be pulled"),
                        hint=f"build a compatible one without a registry: `dockyard base "
                             f"--services {kind.name}` (then set {MODE_ENV}=local, or let "
                             f"auto mode find it)")
    raise UserError(f"image {image} for {kind.name} is not on this machine and cannot be pulled",
                    hint=f"no local build exists for {kind.name}: run the stack where a "
                         f"registry is reachable, or set image = \"...\" in [services.{kind.name}]")


def parse_services(text: str) -> list[tuple[str, str]]:
    """`postgres,spark=3.5.5` → [(kind, version)], checked against what can be built."""
    wanted = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        name, _, version = item.partition("=")
        kind = CATALOG.get(name)
        if kind is None or name not in LOCAL_BUILDS:
            reason = ("no MinIO server can be installed from Debian or PyPI packages; the stack "
                      "uses the official minio/minio image" if name == "minio"
                      else f"unknown service {name!r}")
            raise UserError(f"cannot build a local {name} image: {reason}",
                            hint=f"choose from {', '.join(LOCAL_BUILDS)}")
        version = version or kind.version
        if not kind.local_image(version):
            raise UserError(f"{name} {version} cannot be built from Debian packages (bookworm "
                            f"has {name} {', '.join(kind.local_versions)})",
                            hint=f"use --services {name}, or the official image elsewhere")
        wanted.append((name, version))
    return wanted
