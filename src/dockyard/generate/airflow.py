"""Render the pipeline's Airflow DAG file: pure, an `Artifact` out.

The steps are resolved into Workloads (`dockyard.plan`) exactly as for `pipeline run`, with the
image to run in place of the local one, and rendered by `dockyard.render.airflow`.
"""

from __future__ import annotations

from dockyard.generate.artifacts import MARKER, Artifact
from dockyard.plan.pipeline import Pipeline, pipeline_of
from dockyard.plan.stack import ProjectContext
from dockyard.render.airflow import AirflowTarget, dag_file
from dockyard.spec.stack import StackSpec

HEADER = (f"# This file is {MARKER}. Edit dockyard.toml instead: `dockyard airflow` "
          "rewrites it.\n")


def dag_filename(pipeline: Pipeline) -> str:
    return f"{pipeline.name}_pipeline.py"


def airflow_artifact(stack: StackSpec, ctx: ProjectContext, name: str, target: AirflowTarget,
                     folder: str = "") -> tuple[Pipeline, Artifact]:
    """The pipeline and its DAG file, at `folder/<name>_pipeline.py`."""
    pipeline = pipeline_of(stack, ctx, name)
    rel = f"{folder.strip('/')}/{dag_filename(pipeline)}" if folder.strip("/") \
        else dag_filename(pipeline)
    return pipeline, Artifact(rel, dag_file(pipeline, target, HEADER))
