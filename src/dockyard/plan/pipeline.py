"""The pipeline as one value for schedulers: its name, schedule and steps as Workloads.

`dockyard pipeline run` hands the steps to Compose with the rest of the stack; schedulers
(an Airflow DAG, a Kubernetes Job/CronJob) take the same steps from here, with the
pipeline-level settings that belong to no one container (the schedule). Edges come from each
step's `completed` dependencies, the very ones Compose's `service_completed_successfully`
reads, so the targets cannot disagree on the graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from dockyard.plan.stack import ProjectContext, pipeline_step
from dockyard.spec.stack import StackSpec
from dockyard.workload import Workload


@dataclass(frozen=True)
class Pipeline:
    """The steps in run order (each after its upstream steps)."""

    name: str  # the project's name: the DAG is `<name>_pipeline`
    schedule: str  # a cron line or preset; "": run when triggered
    steps: tuple[Workload, ...]

    @property
    def upstream(self) -> dict[str, frozenset[str]]:
        """Step → the steps it runs after: the edges of the graph."""
        return upstream_of(self.steps)

    def step(self, name: str) -> Workload:
        return next(w for w in self.steps if w.name == name)


def upstream_of(steps: tuple[Workload, ...]) -> dict[str, frozenset[str]]:
    names = {w.name for w in steps}
    return {w.name: frozenset(d.name for d in w.depends_on
                              if d.condition == "completed" and d.name in names)
            for w in steps}


def pipeline_of(stack: StackSpec, ctx: ProjectContext, name: str, *,
                pullable: bool = False) -> Pipeline:
    """The stack's pipeline; `name` is the project's (spec) name. `pullable`: `ctx.image` is
    on a registry (pushed), not only on this machine."""
    steps = tuple(replace(pipeline_step(step, stack, ctx), local_image=not pullable)
                  for step in stack.steps)
    return Pipeline(identifier(name), stack.schedule, steps)


def identifier(name: str) -> str:
    """A name as a Python identifier and an Airflow dag_id (`my-proj.v2` → `my_proj_v2`)."""
    text = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "project"
    return text if not text[0].isdigit() else f"p_{text}"
