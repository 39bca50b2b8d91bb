"""`dockyard k8s`: a Kustomize layout of the project — `base/` (one file per object) and the
`overlays/prod` (the spec's values, its namespace, images pinned) and `overlays/dev` (namespace
`<ns>-dev`, one API replica, smaller CPU requests, no Ingress) that patch it.

No engine and no kubectl are needed: the stack is resolved with the official images of its
data services (a cluster pulls them), planned for a cluster (`dockyard.plan.cluster`), rendered
(`dockyard.render.kubernetes`) and written as generated files. Every problem of the spec is
reported before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from dockyard.app.context import Project
from dockyard.app.published import Role, image_reference, service_reference
from dockyard.app.service_images import choose_image
from dockyard.app.stack import serve_image
from dockyard.errors import SpecError, UserError
from dockyard.generate.artifacts import (
    MARKER,
    Artifact,
    check_writable,
    remove_stale,
    write_artifacts,
)
from dockyard.naming import LOCAL_PREFIX
from dockyard.plan.cluster import (
    ClusterPlan,
    claim_keys,
    claim_name,
    cluster_config,
    cluster_workloads,
    object_name,
)
from dockyard.plan.stack import ProjectContext
from dockyard.render import kubernetes as k8s
from dockyard.render.k8s_pod import WAIT_CONTAINER, Doc, Target
from dockyard.spec.catalog import CATALOG
from dockyard.spec.deploy import DNS_LABEL, DeploySpec
from dockyard.spec.resolve_stack import resolve_stack
from dockyard.spec.stack import ServiceSpec, StackSpec

DEFAULT_OUT = "k8s"
# StatefulSet pods (`-0`, with a 10-character revision hash in a label) and a CronJob's Jobs
# (`-<11-digit time>`) add suffixes to a name that must stay within 63 characters.
OBJECT_NAME_MAX = 52

HEADER = (f"# This file is {MARKER}. Edit dockyard.toml instead: `dockyard k8s` "
          "rewrites it.\n")


@dataclass(frozen=True)
class Layout:
    """What `dockyard k8s` made: the files (relative to the project) and the objects."""

    artifacts: tuple[Artifact, ...]
    objects: tuple[tuple[str, str], ...]  # (kind, name), in base order
    warnings: tuple[tuple[str, str], ...]  # (message, hint)
    namespace: str
    secret: str  # the Secret the pods refer to
    secret_keys: tuple[str, ...]  # the keys they read from it (`.env` variables)


@dataclass(frozen=True)
class Written:
    layout: Layout
    changed: tuple[str, ...]
    removed: tuple[str, ...]


def cluster_stack(project: Project) -> StackSpec:
    """[services] and [pipeline] with official images. Without [services], the model server
    (as `[services.api]` would give it) when the project has something to serve."""
    spec = resolve_stack(project.loaded.spec, project.spec, project.view, project.loaded.file)
    serve = project.spec.serve
    if not spec.services and (serve.model or serve.predictor):
        api = ServiceSpec(name="api", kind="api", model=serve.model, predictor=serve.predictor,
                          workers=serve.workers)
        spec = replace(spec, services=(api,))
    if not spec.services and not spec.steps:
        raise UserError(f"{project.spec_name} has nothing to deploy: no "
                        "[services], no [pipeline] and no model to serve",
                        hint=project.spec_hint('add [serve] model = "models/model.joblib" '
                                               "(or predictor), or [services.api]"))
    services = tuple(
        replace(s, image=choose_image(CATALOG[s.kind], s.version, "official",
                                      lambda _: False).image)
        if CATALOG[s.kind].role == "data" and not s.image_pinned else s
        for s in spec.services)
    return replace(spec, services=services)


def check_names(stack: StackSpec, deploy: DeploySpec, data_dirs: tuple[str, ...],
                file: str) -> None:
    """Every object name a valid DNS-1123 label with room for Kubernetes' suffixes."""
    problems = []
    named = [(f"services.{s.name}", object_name(deploy.name, s.name)) for s in stack.services]
    named += [("pipeline", object_name(deploy.name, "pipeline"))] if stack.steps else []
    named += [("data.dirs", claim_name(deploy.name, d)) for d in data_dirs]
    for step in stack.steps:  # container names in the pipeline's pod
        if not DNS_LABEL.match(step.name) or step.name == WAIT_CONTAINER:
            problems.append(f'pipeline.steps.{step.name}: "{step.name}" cannot name a container '
                            "(a DNS-1123 label other than wait-for-services)")
    for key, name in named:
        if not DNS_LABEL.match(name):
            problems.append(f'{key}: "{name}" is not a DNS-1123 label (lowercase letters, '
                            "digits and '-', ending with a letter or digit)")
        elif len(name) > OBJECT_NAME_MAX:
            problems.append(f'{key}: the Kubernetes name "{name}" has {len(name)} characters, '
                            f"more than {OBJECT_NAME_MAX}: shorten deploy.name or the name")
    if problems:
        table = problems[0].split(":", 1)[0]
        raise SpecError(file, problems, hint=f"rename [{_table(table)}] in {file}, or set a "
                                             "shorter [deploy] name")


@dataclass(frozen=True)
class Planned:
    cluster: ClusterPlan
    target: Target
    image_notes: tuple[str, ...]  # why an image is not pinned, what to do


def _table(key: str) -> str:
    return key if key.startswith(("services.", "pipeline.steps.")) else key.split(".")[0]


def plan(project: Project, *, external: bool = False, schedule: str = "") -> Planned:
    """The cluster's Workloads and the rendering target, every check done."""
    file = project.loaded.file or "dockyard.toml"
    deploy = project.deploy  # [deploy] problems first: one SpecError naming each key
    stack = cluster_stack(project)
    check_names(stack, deploy, project.spec.data_dirs, file)
    ctx = ProjectContext(project.image, serve_image(project), project.spec.project_key,
                         project.spec.data_dirs)
    planned = cluster_workloads(stack, ctx, prefix=deploy.name, uid=project.spec.uid,
                                external=external)
    if not planned.workloads:
        names = ", ".join(name for name, _ in planned.left_out)
        raise UserError(f"nothing of {file} runs on a cluster ({names} left out: "
                        f"{planned.left_out[0][1]})",
                        hint="add [services.api] (or [serve]), a dashboard or [pipeline] steps")
    images = _images(project, planned)
    claims = claim_keys(planned.workloads, deploy.name, project.spec.data_dirs)
    _check_sizes(deploy, claims, file)
    # [pipeline] schedule: the same one the Airflow DAG runs on (a CronJob beside the Job).
    target = Target(deploy, tuple((k, v) for k, (v, _) in images.items()),
                    cluster_config(stack, deploy.name), schedule=schedule or stack.schedule,
                    claims=claims)
    return Planned(planned, target, tuple(note for _, note in images.values() if note))


def _check_sizes(deploy: DeploySpec, claims: tuple[tuple[str, str], ...], file: str) -> None:
    """Each `[deploy.storage] sizes` key names a data folder or a service with a volume."""
    known = sorted({key for _, key in claims})
    for key, _ in deploy.storage.sizes:
        if key not in known:
            raise SpecError(file, [f'deploy.storage.sizes.{key}: no data folder or service '
                                   f'with a volume is named "{key}" (known: '
                                   f'{", ".join(known) or "none"})'],
                            hint=f"fix [deploy.storage] in {file}")


def service_image(project: Project, kind: str) -> str:
    """The image a cluster runs for the stack's KIND service when dockyard built it (MLflow
    has no official image): what `dockyard push --service KIND` pushes."""
    found = [s.image for s in cluster_stack(project).services if s.kind == kind]
    if not found:
        raise UserError(f"--service {kind}: {project.spec_name} has no {kind} service",
                        hint=project.spec_hint(f"add [services.{kind}]"))
    if not found[0].startswith(LOCAL_PREFIX):
        raise UserError(f"--service {kind}: a cluster runs the official image {found[0]}, "
                        "which is not dockyard's to push",
                        hint="only images dockyard builds for a cluster (MLflow's) are pushed")
    return found[0]


def _images(project: Project, planned: ClusterPlan) -> dict[str, tuple[str, str]]:
    """Local image name → (what a cluster pulls, a note when it is not pinned)."""
    used = {w.image for w in planned.workloads}
    found: dict[str, tuple[str, str]] = {}
    roles: tuple[tuple[str, Role], ...] = ((project.image, "project"),
                                           (serve_image(project), "serving"))
    for local, role in roles:
        if local in used:
            pinned = image_reference(project, role)
            found[local] = (pinned.ref, pinned.note)
    kinds = {w.image: w.role for w in planned.workloads}
    for image in sorted(used - set(found)):
        if image.startswith(LOCAL_PREFIX):  # dockyard's own service build (MLflow)
            service = service_reference(project, kinds[image], image)
            found[image] = (service.ref, service.note)
    return found


def layout(project: Project, *, out: str = DEFAULT_OUT, external: bool = False,
           schedule: str = "") -> Layout:
    planned = plan(project, external=external, schedule=schedule)
    target = planned.target
    docs = k8s.objects(planned.cluster.workloads, target)
    patches = k8s.dev_patches(planned.cluster.workloads, target)
    deploy = target.deploy
    files: list[Artifact] = []
    names: list[str] = []
    for doc in docs:
        rel = file_name(doc, deploy.name)
        names.append(rel)
        files.append(Artifact(f"{out}/base/{rel}", dump(doc)))
    files.append(Artifact(f"{out}/base/kustomization.yaml", dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
         "resources": names})))
    files.append(Artifact(f"{out}/overlays/prod/kustomization.yaml",
                          dump(prod_kustomization(deploy, target))))
    files.append(Artifact(f"{out}/overlays/dev/kustomization.yaml",
                          dump(dev_kustomization(deploy, docs, patches))))
    warnings = [(f"{name} is not deployed: {why}", "") for name, why in
                planned.cluster.left_out]
    warnings += [(note, "") for note in planned.image_notes]
    if any(w.role == "step" for w in planned.cluster.workloads) and not project.spec.data_dirs:
        warnings.append(("the pipeline's steps run on read-only root filesystems and share "
                         "files only through data folders, and this project declares none",
                         'declare them: [data] dirs = ["data"] (each becomes a '
                         "PersistentVolumeClaim)"))
    keys = dict.fromkeys(k for w in planned.cluster.workloads for k in w.secrets)
    return Layout(tuple(files), tuple((d["kind"], d["metadata"]["name"]) for d in docs),
                  tuple(warnings), deploy.namespace, target.secret_name, tuple(keys))


def file_name(doc: Doc, prefix: str) -> str:
    """`api-deployment.yaml`: the object's name without the project prefix, and its kind."""
    name = k8s.stable_name(doc)
    short = name.removeprefix(f"{prefix}-") if name != prefix else ""
    return f"{short + '-' if short else ''}{doc['kind'].lower()}.yaml"


def prod_kustomization(deploy: DeploySpec, target: Target) -> Doc:
    doc: Doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                "namespace": deploy.namespace, "resources": ["../../base"]}
    images = [_image_entry(ref) for _, ref in target.images]
    if images:
        # Where CI changes the image: `kustomize edit set image NAME=REF@DIGEST`.
        doc["images"] = images
    return doc


def _image_entry(ref: str) -> Doc:
    if "@" in ref:
        name, digest = ref.split("@", 1)
        return {"name": name, "digest": digest}
    last = ref.rsplit("/", 1)
    if ":" in last[-1]:
        name, tag = ref.rsplit(":", 1)
        return {"name": name, "newTag": tag}
    return {"name": ref, "newTag": "latest"}


def dev_kustomization(deploy: DeploySpec, docs: list[Doc], patches: list[k8s.DevPatch]) -> Doc:
    api_versions = {(d["kind"], d["metadata"]["name"]): d["apiVersion"] for d in docs}
    entries = []
    for p in patches:
        body: Doc = {"apiVersion": api_versions[(p.kind, p.name)], "kind": p.kind,
                     "metadata": {"name": p.name}, **p.patch}
        entries.append({"target": {"kind": p.kind, "name": p.name},
                        "patch": yaml.safe_dump(body, sort_keys=False, width=1_000_000)})
    doc: Doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                "namespace": f"{deploy.namespace}-dev", "resources": ["../../base"]}
    if entries:
        doc["patches"] = entries
    return doc


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a value shared by two keys is written twice, never as &anchor/*alias


def _text(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(doc: Doc) -> str:
    """One object as YAML behind the generated-file header; multi-line text as blocks."""
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                              allow_unicode=True, width=1_000_000)


def out_folder(project: Project, out: str) -> str:
    """--out as a folder inside the project (what `files` may write to)."""
    path = Path(out)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(project.root.resolve())
        except ValueError:
            raise UserError(f"--out {out} is outside the project folder",
                            hint="pass a folder inside the project, e.g. --out k8s") from None
    rel = path.as_posix().strip("/")
    if rel in ("", ".") or rel.startswith("../") or rel == "..":
        raise UserError(f"--out {out} must be a folder inside the project folder",
                        hint="e.g. --out k8s")
    return rel


def write_layout(project: Project, *, out: str = DEFAULT_OUT, external: bool = False,
                 force: bool = False, schedule: str = "") -> Written:
    """Write the layout (refusing before any write if one target is a user's file); generated
    YAML files of base/ that the layout no longer has are removed."""
    folder = out_folder(project, out)
    made = layout(project, out=folder, external=external, schedule=schedule)
    artifacts = list(made.artifacts)
    check_writable(project.root, artifacts, force)
    changed = write_artifacts(project.root, artifacts, force)
    removed = remove_stale(project.root, f"{folder}/base", {a.path for a in artifacts})
    return Written(made, tuple(changed), removed)
