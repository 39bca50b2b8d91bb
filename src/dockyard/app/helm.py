"""`dockyard helm`: the project's Helm chart, made from the same objects as `dockyard k8s`.

The objects come from the Kubernetes renderer (`dockyard.app.k8s.plan` → `render.kubernetes`),
rendered once with every optional part on (`render.helm.every_part`); the chart generator
(`dockyard.render.helm`) turns them into templates and the project's `[deploy]` into
values.yaml, so the chart's defaults render the prod overlay's objects. `push_chart` lints,
packages and pushes it to an OCI registry through helm-python-sdk (`dockyard.engine.helm`).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace

from dockyard.app import k8s as k8s_app
from dockyard.app.context import Project
from dockyard.app.stack import serve_image
from dockyard.engine import helm as engine_helm
from dockyard.errors import UserError
from dockyard.generate.artifacts import (
    Artifact,
    check_writable,
    remove_stale,
    write_artifacts,
)
from dockyard.render import helm as chart_render
from dockyard.render import kubernetes as k8s
from dockyard.render.k8s_pod import Doc

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

DEFAULT_VERSION = "0.1.0"
_SEMVER = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class ChartFiles:
    folder: str  # relative to the project: helm/<name>
    chart: chart_render.Chart
    artifacts: tuple[Artifact, ...]
    notes: tuple[str, ...]  # why an image is not pinned, what is left out


def default_out(project: Project) -> str:
    return f"helm/{project.deploy.name}"


def prod_objects(project: Project, *, every_part: bool = False
                 ) -> tuple[list[Doc], k8s_app.Planned]:
    """The prod objects (as the overlay has them, before its namespace), or with every
    optional part on."""
    planned = k8s_app.plan(project)
    target = planned.target
    if every_part:
        target = replace(target, deploy=chart_render.every_part(target.deploy))
    return k8s.objects(planned.cluster.workloads, target), planned


def make_chart(project: Project, out: str = "") -> ChartFiles:
    """The chart's files, every check done (nothing written)."""
    objects, planned = prod_objects(project, every_part=True)
    deploy = planned.target.deploy
    refs = dict(planned.target.images)
    images = [chart_render.ImageValue(key, refs[local]) for key, local in
              (("image", serve_image(project)), ("projectImage", project.image))
              if local in refs]
    if images and images[0].key != "image":  # no API: the project's image is the chart's
        images[0] = replace(images[0], key="image")
    chart = chart_render.Chart(deploy.name, project_version(project),
                               app_version(images[0].ref if images else ""),
                               tuple(objects), deploy, tuple(images),
                               f"{project.spec.name}: model API and services, by dockyard",
                               planned.target.claims)
    folder = k8s_app.out_folder(project, out or default_out(project))
    artifacts = tuple(Artifact(f"{folder}/{rel}", text)
                      for rel, text in chart_render.chart_files(chart).items())
    notes = tuple(note for note in planned.image_notes) + tuple(
        f"{name} is not deployed: {why}" for name, why in planned.cluster.left_out)
    return ChartFiles(folder, chart, artifacts, notes)


def project_version(project: Project) -> str:
    """pyproject.toml's [project] version when it is SemVer (Helm's rule), else 0.1.0."""
    text = project.view.read_text("pyproject.toml") if project.view.exists(
        "pyproject.toml") else ""
    try:
        version = tomllib.loads(text).get("project", {}).get("version", "") if text else ""
    except tomllib.TOMLDecodeError:
        return DEFAULT_VERSION
    return version if isinstance(version, str) and _SEMVER.match(version) else DEFAULT_VERSION


def app_version(ref: str) -> str:
    """The image's digest, short (12 hex digits), or its tag."""
    if "@sha256:" in ref:
        return ref.rsplit("@sha256:", 1)[1][:12]
    tag = ref.rsplit("/", 1)[-1].partition(":")[2]
    return tag or "latest"


@dataclass(frozen=True)
class WrittenChart:
    files: ChartFiles
    changed: tuple[str, ...]
    removed: tuple[str, ...]


def write_chart(project: Project, *, out: str = "", force: bool = False) -> WrittenChart:
    """Write the chart (refusing before any write if one target is a user's own file);
    generated templates the chart no longer has are removed."""
    made = make_chart(project, out)
    artifacts = list(made.artifacts)
    check_writable(project.root, artifacts, force)
    changed = write_artifacts(project.root, artifacts, force)
    removed = remove_stale(project.root, f"{made.folder}/templates", {a.path for a in artifacts})
    return WrittenChart(made, tuple(changed), removed)


def lint_chart(project: Project, folder: str) -> None:
    report = engine_helm.lint(project.root / folder)
    if report.problems:
        raise UserError(f"helm lint: {report.problems[0]}" + (
            f" (and {len(report.problems) - 1} more)" if len(report.problems) > 1 else ""),
            hint="the chart is generated: `dockyard helm --force` rewrites edited files")


def push_chart(project: Project, folder: str, remote: str, *,
               plain_http: bool = False) -> engine_helm.Pushed:
    """Lint, package and push the written chart to REMOTE (oci://HOST/REPO)."""
    engine_helm.check_oci(remote)
    lint_chart(project, folder)
    with engine_helm.private_dir() as tmp:
        archive = engine_helm.package(project.root / folder, tmp)
        return engine_helm.push(archive, remote, insecure_http=plain_http)
