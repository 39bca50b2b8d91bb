"""`dockyard pipeline run [--from STEP]`: the steps as one-shot containers, in Compose's order.

Compose does the scheduling: each step `depends_on` its upstream steps with
`service_completed_successfully`, so a step whose upstream failed is never started. This module
starts the data services, runs the chosen steps attached (their output streams through), then
reads every step's exit code to report the first failure with the tail of its log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dockyard.app.stack import Lines, Stack, failure, prepare
from dockyard.engine import compose as dc
from dockyard.engine._cmd import Engine
from dockyard.errors import EngineError, UserError
from dockyard.plan.defaults import GPU_PROFILE, PIPELINE_PROFILE
from dockyard.spec.catalog import CATALOG
from dockyard.spec.graph import downstream

LOG_TAIL = 20


@dataclass(frozen=True)
class StepRun:
    name: str
    state: str  # exited, created (never started), …
    exit_code: int
    seconds: float


def select_steps(stack: Stack, from_step: str | None) -> list[str]:
    """Every step, or `from_step` and what runs after it (upstream results are reused)."""
    order = [s.name for s in stack.spec.steps]
    if not order:
        raise UserError("the spec has no [pipeline.steps] to run",
                        hint='add e.g. [pipeline.steps.train] with command = "python train.py"')
    if from_step is None:
        return order
    if from_step not in order:
        raise UserError(f"--from {from_step}: no step named {from_step!r}",
                        hint=f"steps: {', '.join(order)}")
    return downstream(stack.spec.after, from_step)


def run_pipeline(engine: Engine, stack: Stack, *, from_step: str | None = None,
                 no_build: bool = False,
                 on_line: Lines = None, on_build_line: Lines = None) -> list[StepRun]:
    chosen = select_steps(stack, from_step)
    gpu_steps = [name for name in chosen if (step := stack.spec.step(name)) and step.gpu]
    if gpu_steps and not dc.engine_has_gpu(engine):
        raise UserError(f"step {gpu_steps[0]} needs a GPU, and this Docker engine has none "
                        "(no NVIDIA runtime)",
                        hint=f"run it where the NVIDIA Container Toolkit is installed, or set "
                             f"gpu = false in [pipeline.steps.{gpu_steps[0]}]")
    prepare(engine, stack, no_build=no_build, on_line=on_build_line)
    _start_data_services(engine, stack)
    dc.remove(engine, stack.compose, chosen)  # fresh containers: fresh logs and exit codes
    result = dc.run_attached(engine, stack.compose, chosen, (PIPELINE_PROFILE, GPU_PROFILE),
                             on_line or (lambda _line: None))
    runs = _step_runs(engine, stack, chosen)
    failed = next((r for r in runs if r.state != "exited" or r.exit_code != 0), None)
    if failed is not None or result.returncode != 0:
        raise _failure(engine, stack, runs, failed, result.stdout)
    return runs


def _start_data_services(engine: Engine, stack: Stack) -> None:
    services = [name for svc in stack.spec.services if CATALOG[svc.kind].role == "data"
                for name in ([svc.name, f"{svc.name}-worker"] if svc.kind == "spark"
                             else [svc.name])]
    if services:
        result = dc.up(engine, stack.compose, services)
        if result.returncode != 0:
            raise failure(engine, stack, services, result.stdout)


def _step_runs(engine: Engine, stack: Stack, chosen: list[str]) -> list[StepRun]:
    states = {s.service: s for s in dc.states(engine, stack.compose)}
    times = dc.step_times(engine, [states[n].container for n in chosen if n in states])
    runs = []
    for name in chosen:
        state = states.get(name)
        if state is None:
            runs.append(StepRun(name, "not created", 0, 0.0))
            continue
        started, finished = times.get(state.container, ("", ""))
        runs.append(StepRun(name, state.state, state.exit_code, _seconds(started, finished)))
    return runs


def _seconds(started: str, finished: str) -> float:
    try:
        start, end = (datetime.fromisoformat(t[:26].rstrip("Z")) for t in (started, finished))
    except ValueError:
        return 0.0
    return max(0.0, (end - start).total_seconds()) if start.year > 1 else 0.0


def _failure(engine: Engine, stack: Stack, runs: list[StepRun], failed: StepRun | None,
             output: str) -> EngineError:
    not_run = [r.name for r in runs if r.state in ("created", "not created")]
    failed = next((r for r in runs if r.state == "exited" and r.exit_code != 0), failed)
    if failed is None or failed.state != "exited":
        last = (output.strip().splitlines() or ["docker compose up failed"])[-1]
        return EngineError(f"the pipeline did not run: {last}", stderr_tail=output[-2000:],
                           hint="rerun with -v to see every engine command")
    step = stack.spec.step(failed.name)
    attempts = f" after {step.retries + 1} attempts" if step and step.retries else ""
    skipped = f"; not run: {', '.join(not_run)}" if not_run else ""
    return EngineError(
        f"pipeline step {failed.name} failed with exit code {failed.exit_code}{attempts}"
        f"{skipped}",
        returncode=failed.exit_code,
        stderr_tail=dc.logs_tail(engine, stack.compose, failed.name, LOG_TAIL),
        hint=f"its last log lines are above; after fixing it, rerun from there: "
             f"dockyard pipeline run --from {failed.name}")
