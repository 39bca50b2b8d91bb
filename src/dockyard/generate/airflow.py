"""Render the pipeline's Airflow DAG file: pure, an `Artifact` out.

The steps are resolved into Workloads (`dockyard.plan`) exactly as for `pipeline run`, with the
image to run in place of the local one, and rendered by `dockyard.render.airflow`.
"""

from __future__ import annotations

from dataclasses import replace

from dockyard.generate.artifacts import MARKER, Artifact
from dockyard.plan.pipeline import Pipeline, pipeline_of
from dockyard.plan.stack import ProjectContext
from dockyard.render.airflow import AirflowTarget, Operator, dag_file
from dockyard.render.compose import NETWORK
from dockyard.spec.catalog import CATALOG
from dockyard.spec.deploy import DeploySpec
from dockyard.spec.stack import StackSpec

HEADER = (f"# This file is {MARKER}. Edit dockyard.toml instead: `dockyard airflow` "
          "rewrites it.\n")


def dag_filename(pipeline: Pipeline) -> str:
    return f"{pipeline.name}_pipeline.py"


def airflow_target(stack: StackSpec, operator: Operator, name: str, project_dir: str,
                   uid: int, gid: int, deploy: DeploySpec | None = None) -> AirflowTarget:
    """Where the tasks run. DockerOperator tasks join the Compose network of the stack's data
    services (`dockyard up` starts them), so connection settings mean what they mean there;
    KubernetesPodOperator tasks run in `[deploy]`'s namespace, next to the Kubernetes
    layout's Secret and claims, and GPU steps go where `[deploy.gpu]` says."""
    has_services = any(CATALOG[s.kind].role == "data" for s in stack.services)
    target = AirflowTarget(operator, name, project_dir, uid, gid,
                           network=f"{stack.project}_{NETWORK}" if has_services else "")
    if deploy is None:
        return target
    selector, tolerations = deploy.gpu.placement  # as the Kubernetes layout places GPU pods
    return replace(target, namespace=deploy.namespace, k8s_name=deploy.name,
                   gpu_resource=deploy.gpu.resource, gpu_node_selector=selector,
                   gpu_tolerations=tuple((t.key, t.operator, t.value, t.effect)
                                         for t in tolerations))


def airflow_artifact(stack: StackSpec, ctx: ProjectContext, name: str, target: AirflowTarget,
                     folder: str = "", *, pullable: bool = False) -> tuple[Pipeline, Artifact]:
    """The pipeline and its DAG file, at `folder/<name>_pipeline.py`; `pullable`: the image
    is on a registry."""
    pipeline = pipeline_of(stack, ctx, name, pullable=pullable)
    rel = f"{folder.strip('/')}/{dag_filename(pipeline)}" if folder.strip("/") \
        else dag_filename(pipeline)
    return pipeline, Artifact(rel, dag_file(pipeline, target, HEADER))
