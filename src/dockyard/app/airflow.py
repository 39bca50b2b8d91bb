"""`dockyard airflow`: the pipeline as an Airflow DAG file, for a deployment's dags folder.

The steps are the stack's, resolved as `pipeline run` resolves them; the image is the one the
workers should pull (pinned by digest once `dockyard push` has pushed it). The file goes to
`dags/` in the project unless told otherwise; a file there that dockyard did not write is
never replaced without `force`. Needs no engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dockyard.app.context import Project
from dockyard.app.published import image_reference
from dockyard.errors import UserError
from dockyard.generate.airflow import airflow_artifact, airflow_target
from dockyard.generate.artifacts import check_writable, write_artifacts
from dockyard.plan.notebook import executed_copy
from dockyard.plan.stack import ProjectContext
from dockyard.render.airflow import NotRenderable, Operator
from dockyard.spec.resolve_stack import resolve_stack
from dockyard.spec.stack import StackSpec

DAGS_FOLDER = "dags"


@dataclass(frozen=True)
class DagWritten:
    file: str  # as given: relative to the project, or absolute when written outside it
    changed: bool
    dag_id: str
    operator: Operator
    image: str
    schedule: str
    steps: tuple[str, ...]
    upstream: dict[str, tuple[str, ...]]
    notes: tuple[str, ...]


def step_image(project: Project, local_id: str = "") -> tuple[str, bool, str]:
    """The image the workers run (pinned by digest once `dockyard push` pushed it), whether
    it is on a registry, and a note when it is not pinned or out of date."""
    ref = image_reference(project, "project", local_id=local_id)
    return ref.ref, ref.ref != project.image, ref.note


def write_dag(project: Project, *, out: str = DAGS_FOLDER, operator: Operator = "docker",
              force: bool = False, local_id: str = "") -> DagWritten:
    """Write the DAG file; `local_id`: the current local image's id when an engine answered
    (a push of an older image is then noted)."""
    stack = resolve_stack(project.loaded.spec, project.spec, project.view, project.loaded.file)
    if not stack.steps:
        raise UserError(f"{project.spec_name} has no [pipeline.steps]: "
                        "there is no pipeline to schedule",
                        hint=project.spec_hint('add e.g. [pipeline.steps.train] with command = '
                                               '"python train.py"'))
    deploy = project.deploy if operator == "kubernetes" else None  # [deploy] checked first
    image, pullable, note = step_image(project, local_id)
    spec = project.spec
    ctx = ProjectContext(image, image, spec.project_key, spec.data_dirs)
    root = project.root.resolve()
    owner = root.stat()
    target = airflow_target(stack, operator, spec.name, str(root), owner.st_uid, owner.st_gid,
                            deploy)
    folder, inside = _destination(root, out)
    try:
        pipeline, artifact = airflow_artifact(stack, ctx, spec.name, target, inside,
                                              pullable=pullable)
    except NotRenderable as exc:
        raise UserError(str(exc), hint="change the step in dockyard.toml") from None
    if folder.exists():
        check_writable(folder, [artifact], force)
    folder.mkdir(parents=True, exist_ok=True)
    changed = write_artifacts(folder, [artifact], force)
    shown = artifact.path if folder == root else str(folder / artifact.path)
    upstream = {name: tuple(s for s in (w.name for w in pipeline.steps) if s in ups)
                for name, ups in pipeline.upstream.items()}
    notes: tuple[str, ...] = (note,) if note else ()
    if operator == "kubernetes":
        notes += _unkept_notebooks(stack, spec.data_dirs)
    return DagWritten(shown, bool(changed), f"{pipeline.name}_pipeline", operator, image,
                      pipeline.schedule, tuple(w.name for w in pipeline.steps), upstream, notes)


def _unkept_notebooks(stack: StackSpec, data_dirs: tuple[str, ...]) -> tuple[str, ...]:
    """Each KubernetesPodOperator pod writes in its own copy of the project folder, gone
    with the pod: a notebook step's executed copy is kept only in a data folder's claim."""
    found = []
    for step in stack.steps:
        output = step.output or (executed_copy(step.notebook) if step.notebook else "")
        if output and not any(output.startswith(d.rstrip("/") + "/") for d in data_dirs):
            folder = data_dirs[0].rstrip("/") if data_dirs else "data"
            where = f'output = "{folder}/{PurePosixPath(output).name}"'
            if not data_dirs:
                where = f'[data] dirs = ["data"] and {where}'
            found.append(f"step {step.name}: its executed notebook ({output}) would be "
                         f"lost with its pod (only data folders outlive it): set {where} "
                         f"in [pipeline.steps.{step.name}]")
    return tuple(found)


def _destination(root: Path, out: str) -> tuple[Path, str]:
    """Where to write: (the project, the folder in it), or, for a folder outside the project
    such as an Airflow deployment's dags folder, (that folder, "")."""
    path = Path(out).expanduser()
    full = (path if path.is_absolute() else root / path).resolve()
    try:
        rel = full.relative_to(root).as_posix()
    except ValueError:
        return full, ""
    return root, "" if rel == "." else rel
