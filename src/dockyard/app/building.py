"""`dockyard build`: write the build context's generated files, pick a base, build."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockyard import files
from dockyard.app.context import Project, resolve_ca_cert
from dockyard.app.declared import declaration_sites
from dockyard.engine import base as airgap
from dockyard.engine._cmd import Engine
from dockyard.engine.images import (
    LABEL_PROJECT,
    LABEL_ROLE,
    BuildRequest,
    BuildResult,
    build,
    drop_if_unnamed,
    image_exists,
    image_id,
    image_python,
    latest_image,
    log_hint,
    try_pull,
)
from dockyard.errors import BuildFailed, UserError
from dockyard.generate import build_artifacts, write_artifacts
from dockyard.lock import Resolution, ResolutionFailed, lock_state, resolve_for_build
from dockyard.spec.resolve import EOL_PYTHONS

BUILD_DOCKERFILE = ".dockyard/Dockerfile"
# BuildKit reads <Dockerfile>.dockerignore before the context's own .dockerignore, so dockyard's
# rules apply without touching a .dockerignore the user wrote.
BUILD_IGNORE = ".dockyard/Dockerfile.dockerignore"
BUILD_LOG = ".dockyard/build.log"


@dataclass(frozen=True)
class BaseChoice:
    image: str
    source: str


@dataclass(frozen=True)
class BuildOutcome:
    result: BuildResult
    base: BaseChoice
    locked: bool
    resolution: Resolution
    notes: tuple[str, ...]


def choose_base(engine: Engine, project: Project, flag: str | None,
                on_line: Callable[[str], None] | None = None) -> BaseChoice:
    """--base, DOCKYARD_BASE_IMAGE, the spec, then the official python:<v>-slim."""
    spec = project.spec
    for source, value in (("--base", flag),
                          ("DOCKYARD_BASE_IMAGE", os.environ.get("DOCKYARD_BASE_IMAGE")),
                          (project.loaded.file or "dockyard.toml", spec.base_image)):
        if value:
            _ensure_available(engine, value, spec.python)
            return BaseChoice(value, source)
    official = spec.default_base_image
    if image_exists(engine, official) or try_pull(engine, official):
        return BaseChoice(official, "default")
    local = airgap.base_tag(spec.python)
    state = airgap.base_state(engine, local, spec.python)
    if state == "stale":
        _rebuild_stale_base(engine, local, spec.python, on_line)
    if state != "missing":
        return BaseChoice(local, f"air-gapped base ({official} cannot be pulled)")
    raise _missing_base(official, spec.python)


def _rebuild_stale_base(engine: Engine, tag: str, python: str,
                        on_line: Callable[[str], None] | None) -> None:
    """A base built by an older recipe may lack what today's Dockerfiles rely on: rebuild it
    (about a minute) rather than fail later in a way that points elsewhere."""
    say = on_line or (lambda _line: None)
    say(f"dockyard: {tag} was built by an older recipe; rebuilding it (dockyard base)")
    try:
        airgap.build_base(engine, python, tag, on_line=say)
    except UserError as exc:
        raise UserError(f"{tag} is stale (built by an older recipe) and cannot be rebuilt "
                        f"here: {exc.message}",
                        hint=f"run `dockyard base --python {python}` as root") from exc


def _ensure_available(engine: Engine, image: str, python: str) -> None:
    if not image_exists(engine, image) and not try_pull(engine, image):
        raise _missing_base(image, python)
    has = image_python(engine, image)
    if has and has != ".".join(python.split(".")[:2]):
        raise UserError(f"base image {image} has Python {has}, the project asks for {python}",
                        hint=f"use a base with Python {python}, or set python = \"{has}\" "
                             "in dockyard.toml")


def _missing_base(image: str, python: str) -> UserError:
    hint = f"build one without a registry: `dockyard base --python {python}`"
    try:
        airgap.supported_suite(python)
    except UserError as no_suite:  # `dockyard base` would refuse it: say what would work
        hint = no_suite.hint
    return UserError(f"base image {image} is not on this machine and cannot be pulled",
                     hint=hint)


def build_project(engine: Engine, project: Project, *, tag: str = "", base: str | None = None,
                  ca_cert: str | None = None, locked: bool = False, no_cache: bool = False,
                  refresh: bool = False,
                  on_line: Callable[[str], None] | None = None) -> BuildOutcome:
    state = lock_state(project.root, project.spec)
    notes: list[str] = []
    if locked and state != "fresh":
        raise UserError(
            f"dockyard.lock is {state}: it does not match the declared dependencies",
            hint="run `dockyard lock` and commit dockyard.lock, or build without --locked")
    if state == "stale":
        notes.append("dockyard.lock is stale; building from the declared dependencies "
                     "(run `dockyard lock` to refresh it)")
    if ".".join(project.spec.python.split(".")[:2]) in EOL_PYTHONS:
        notes.append(f"Python {project.spec.python} is past its end of life: JupyterLab's "
                     "server cannot be kept to its releases without published advisories "
                     "there; move to Python 3.11 or newer")
    ca = resolve_ca_cert(ca_cert)
    resolution = resolve_dependencies(project, ca, refresh)
    write_artifacts(project.root, build_artifacts(project.spec, pinned=resolution.path,
                                                  from_source=bool(resolution.from_source),
                                                  dockerfile=BUILD_DOCKERFILE,
                                                  ignore=BUILD_IGNORE,
                                                  credential_files=project.credential_files()),
                    force=True)
    choice = choose_base(engine, project, base, on_line)
    request = BuildRequest(
        context=project.root, dockerfile=project.root / BUILD_DOCKERFILE,
        tag=tag or project.image, base_image=choice.image,
        labels=(*image_labels(project, choice), (LABEL_ROLE, "lab")),
        ca_cert=ca, no_cache=no_cache, secrets=project.index_secrets(),
    )
    return BuildOutcome(build_logged(engine, project, request, on_line), choice, state == "fresh",
                        resolution, tuple(notes))


def build_logged(engine: Engine, project: Project, request: BuildRequest,
                 on_line: Callable[[str], None] | None) -> BuildResult:
    """Build; on failure the whole log goes to .dockyard/build.log, which the hint names."""
    previous = image_id(engine, request.tag)
    try:
        result = build(engine, request, on_line)
    except BuildFailed as exc:
        files.write_text(project.root, BUILD_LOG, exc.log)
        exc.hint = log_hint(project.root / BUILD_LOG)
        raise
    if previous and previous != result.id:
        drop_replaced(engine, previous, project.spec.project_key)
    return result


def drop_replaced(engine: Engine, old_id: str, project_key: str) -> None:
    """Images this build left without a name are removed: every edit would otherwise leave a
    dangling image behind (a day of rebuilds and test runs filled a 100 GB disk here).

    That is the image the tag moved away from, when dockyard built it: this project's, or
    another folder's with the same name (its project rebuilds from BuildKit's cache, as it would
    after any edit), and any earlier image of this project that a container kept alive at its
    rebuild. The engine refuses while a container uses one; a user's own images, and any image
    still tagged, are never touched."""
    drop_if_unnamed(engine, old_id, LABEL_PROJECT)
    listed = engine.docker("images", "--quiet", "--no-trunc", "--filter", "dangling=true",
                           "--filter", f"label={LABEL_PROJECT}={project_key}", check=False)
    earlier = [i for i in listed.stdout.split() if i != old_id]
    if earlier:
        engine.docker("rmi", *earlier, check=False)


def resolve_dependencies(project: Project, ca_cert: Path | None,
                         refresh: bool = False) -> Resolution:
    """The pinned set to install; a failure names the packages and where they were declared,
    with uv's whole output in the build log."""
    try:
        return resolve_for_build(project.root, project.spec, ca_cert, refresh)
    except ResolutionFailed as exc:
        log = project.root / BUILD_LOG
        files.write_text(project.root, BUILD_LOG, exc.log)
        lines = [f"{req} is declared in {where}"
                 for req, where in declaration_sites(project, exc.uv_message)]
        raise UserError("\n".join([exc.message, *lines[:5]]),
                        hint=f"fix the name or version where it is declared; uv's full output "
                             f"is in {log}") from None


def image_labels(project: Project, base: BaseChoice) -> tuple[tuple[str, str], ...]:
    # No build timestamp label: it made every no-op rebuild a new image (the engine records
    # the creation time anyway).
    return (
        (LABEL_PROJECT, project.spec.project_key),
        ("org.opencontainers.image.base.name", base.image),
    )


def current_image(engine: Engine, project: Project, *, build: bool = True,
                  on_line: Callable[[str], None] | None = None
                  ) -> tuple[str, BuildOutcome | None]:
    """The project's image, brought up to date first: a build through BuildKit's cache, which
    costs about a second when nothing changed. With `build=False`, the newest image as it is."""
    if not build:
        return project_image_ready(engine, project), None
    outcome = build_project(engine, project, on_line=on_line)
    return outcome.result.image, outcome


def project_image_ready(engine: Engine, project: Project) -> str:
    """The newest image built for this project folder, found by its label (so a `--tag` of
    the user's choosing is found too)."""
    found = latest_image(engine, (LABEL_PROJECT, project.spec.project_key), (LABEL_ROLE, "lab"))
    if not found:
        raise UserError(f"no image has been built for {project.root}",
                        hint="run without --no-build (or `dockyard build`) first")
    return found
