"""Images for a stack's data services: pick official or local ones, and build the local ones.

Machines without a registry cannot pull postgres, redis or spark. `build_service_image` makes a
compatible image from the air-gapped Debian base and Debian/PyPI packages, with a Dockerfile
kept as package data (`dockyard/data/services/<kind>/`). Which image a stack uses:
the spec's `image`, else $DOCKYARD_SERVICE_IMAGES (official | local | auto), where auto takes
the official image if it is on this machine, else dockyard's local build if that is, else the
official one (Compose pulls it).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dockyard import __version__
from dockyard.engine._cmd import docker
from dockyard.engine.base import LABEL_RECIPE, recipe_hash
from dockyard.engine.images import (
    BuildRequest,
    BuildResult,
    build,
    image_exists,
    image_labels,
    try_pull,
)
from dockyard.errors import DockyardError, UserError
from dockyard.naming import LOCAL_PREFIX
from dockyard.stack.catalog import CATALOG, LOCAL_BUILDS, Kind

MODE_ENV = "DOCKYARD_SERVICE_IMAGES"
MODES = ("auto", "official", "local")
# The build argument that carries the version, per kind (the Dockerfile's ARG default).
# The Python of the base that local service images are built on.
BASE_PYTHON = "3.11"
VERSION_ARGS = {"postgres": "PG_MAJOR", "redis": "", "mlflow": "MLFLOW_VERSION",
                "spark": "SPARK_VERSION"}


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


def _exists(ref: str) -> bool:
    """Whether the engine has the image; no engine (or no docker at all) means no."""
    try:
        return image_exists(ref)
    except DockyardError:
        return False


def choose_image(kind: Kind, version: str, mode: str,
                 exists: Callable[[str], bool] = _exists) -> ImageChoice:
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


def ensure_image(kind: Kind, image: str) -> None:
    """The image is here (and, when dockyard built it, by today's recipe), or pulled now; else
    an error saying how to get one."""
    ours = image.startswith(LOCAL_PREFIX)
    if image_exists(image):
        if ours and kind.name in LOCAL_BUILDS and not service_image_fresh(image):
            raise UserError(f"image {image} was built by an older recipe of dockyard",
                            hint=f"rebuild it: `dockyard base --services {kind.name}`")
        return
    local = kind.name in LOCAL_BUILDS
    if not ours and try_pull(image):
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


def build_service_image(name: str, version: str, base_image: str, ca_cert: Path | None,
                        on_line: Callable[[str], None] | None = None) -> BuildResult:
    kind = CATALOG[name]
    tag = kind.local_image(version)
    if not image_exists(base_image):
        raise UserError(f"base image {base_image} is not on this machine",
                        hint="build it first: `dockyard base --python 3.11`")
    with tempfile.TemporaryDirectory(prefix=f"dockyard-{name}-") as tmp:
        context = Path(tmp)
        _copy_context(name, context, VERSION_ARGS[name], version)
        request = BuildRequest(
            context=context, dockerfile=context / "Dockerfile", tag=tag, base_image=base_image,
            labels=(("dev.dockyard.service", name), ("dev.dockyard.version", __version__),
                    ("org.opencontainers.image.version", version),
                    (LABEL_RECIPE, service_recipe(context))),
            ca_cert=ca_cert)
        return build(request, on_line)


def service_recipe(context: Path) -> str:
    """A hash of a service image's build context (Dockerfile, scripts, the version baked into
    the Dockerfile) and of today's base recipe, so a new base makes every service stale too."""
    digest = hashlib.sha256(recipe_hash(BASE_PYTHON).encode())
    for path in sorted(context.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def local_service_images() -> list[str]:
    """Every service image `dockyard base --services` built on this machine."""
    out = docker("images", "--filter", "label=dev.dockyard.service", "--format",
                 "{{.Repository}}:{{.Tag}}").stdout
    return sorted({line for line in out.split() if line.startswith(LOCAL_PREFIX)})


def service_image_fresh(image: str) -> bool:
    """Whether a local service image was built from today's recipe for its kind and version."""
    labels = image_labels(image) or {}
    name, version = labels.get("dev.dockyard.service", ""), labels.get(
        "org.opencontainers.image.version", "")
    if name not in LOCAL_BUILDS or not version:
        return False
    with tempfile.TemporaryDirectory(prefix=f"dockyard-{name}-") as tmp:
        _copy_context(name, Path(tmp), VERSION_ARGS[name], version)
        return labels.get(LABEL_RECIPE) == service_recipe(Path(tmp))


def _copy_context(name: str, dest: Path, version_arg: str, version: str) -> None:
    """Package data into a build context; scripts get mode 755 here, so that the Dockerfile
    needs no extra `RUN chmod` layer."""
    source = resources.files("dockyard").joinpath("data").joinpath("services").joinpath(name)
    for entry in source.iterdir():
        if not entry.is_file():
            continue
        target = dest / entry.name
        with resources.as_file(entry) as path:
            shutil.copyfile(path, target)
        if entry.name.endswith((".sh", ".py")):
            target.chmod(0o755)
    if version_arg:  # the requested version becomes the ARG default: no extra build flags
        dockerfile = dest / "Dockerfile"
        text = re.sub(rf"^ARG {version_arg}=.*$", f"ARG {version_arg}={version}",
                      dockerfile.read_text(), flags=re.MULTILINE)
        dockerfile.write_text(text)
