"""Local images for a stack's data services: build them, and find them again.

Machines without a registry cannot pull postgres, redis or spark. `build_service_image` makes a
compatible image from the air-gapped Debian base and Debian/PyPI packages, with a Dockerfile
kept as package data (`dockyard/data/services/<kind>/`). Which image a stack uses is policy,
in `dockyard.app.service_images`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from dockyard import __version__
from dockyard.engine._cmd import Engine
from dockyard.engine.base import LABEL_RECIPE, recipe_hash
from dockyard.engine.images import (
    BuildRequest,
    BuildResult,
    build,
    drop_if_unnamed,
    image_exists,
    image_id,
    image_labels,
)
from dockyard.errors import UserError
from dockyard.naming import LOCAL_PREFIX
from dockyard.spec.catalog import CATALOG, LOCAL_BUILDS

# The build argument that carries the version, per kind (the Dockerfile's ARG default).
# The Python of the base that local service images are built on.
BASE_PYTHON = "3.11"
VERSION_ARGS = {"postgres": "PG_MAJOR", "redis": "", "mlflow": "MLFLOW_VERSION",
                "spark": "SPARK_VERSION"}


def build_service_image(engine: Engine, name: str, version: str, base_image: str,
                        ca_cert: Path | None,
                        on_line: Callable[[str], None] | None = None) -> BuildResult:
    kind = CATALOG[name]
    tag = kind.local_image(version)
    if not image_exists(engine, base_image):
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
        previous = image_id(engine, tag)
        result = build(engine, request, on_line)
    if previous != result.id:
        drop_if_unnamed(engine, previous, "dev.dockyard.service")
    return result


def service_recipe(context: Path) -> str:
    """A hash of a service image's build context (Dockerfile, scripts, the version baked into
    the Dockerfile) and of today's base recipe, so a new base makes every service stale too."""
    digest = hashlib.sha256(recipe_hash(BASE_PYTHON).encode())
    for path in sorted(context.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def local_service_images(engine: Engine) -> list[str]:
    """Every service image `dockyard base --services` built on this machine."""
    out = engine.docker("images", "--filter", "label=dev.dockyard.service", "--format",
                 "{{.Repository}}:{{.Tag}}").stdout
    return sorted({line for line in out.split() if line.startswith(LOCAL_PREFIX)})


def service_image_fresh(engine: Engine, image: str) -> bool:
    """Whether a local service image was built from today's recipe for its kind and version."""
    labels = image_labels(engine, image) or {}
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
