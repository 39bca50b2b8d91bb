"""airflow: the pipeline as an Airflow DAG file (DockerOperator or KubernetesPodOperator)."""

from __future__ import annotations

import click

from dockyard.cli._main import Context, cli


def _local_id(ctx: Context, image: str) -> str:
    """The local image's id when an engine answers ("" otherwise: none is needed)."""
    from dockyard.engine.images import image_id
    from dockyard.errors import DockyardError

    try:
        return image_id(ctx.engine(check=False), image)
    except (DockyardError, OSError):
        return ""


@cli.command("airflow")
@click.option("--out", default="dags", show_default=True, metavar="DIR",
              help="Folder for the DAG file (inside the project, or e.g. Airflow's dags "
                   "folder).")
@click.option("--operator", type=click.Choice(["docker", "kubernetes"]), default="docker",
              show_default=True,
              help="Run each step with DockerOperator or KubernetesPodOperator.")
@click.option("--force", is_flag=True, help="Replace a DAG file that dockyard did not write.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def airflow_cmd(ctx: Context, out: str, operator: str, force: bool, as_json: bool) -> None:
    """Write the [pipeline] as an Airflow DAG: one container task per step, in the project's
    image, with the spec's dependencies, retries, timeouts and schedule."""
    from dockyard.app.airflow import write_dag

    output = ctx.output(as_json)
    project = ctx.project()
    written = write_dag(project, out=out,
                        operator="kubernetes" if operator == "kubernetes" else "docker",
                        force=force, local_id=_local_id(ctx, project.image))
    output.emit({"file": written.file, "files": [written.file], "changed": written.changed,
                 "dag_id": written.dag_id, "operator": written.operator,
                 "image": written.image, "schedule": written.schedule,
                 "steps": list(written.steps),
                 "edges": [[up, step] for step, ups in written.upstream.items() for up in ups],
                 "notes": list(written.notes)})
    output.info(f"{'wrote' if written.changed else 'unchanged'} {written.file} "
                f"(DAG {written.dag_id}: {' -> '.join(written.steps)}; {written.operator} "
                f"operator, image {written.image})")
    for note in written.notes:
        output.warn(note, "")
