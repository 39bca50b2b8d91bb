"""Headless notebook runs as a command: the job value and the runner's argv inside the image.

The one place the in-image runner's argv is written (`notebook_argv`), for `dockyard run
NOTEBOOK` (app/notebooks.py checks the request against the project) and for notebook pipeline
steps (plan/stack.py), so that both run a notebook the same way: papermill's conventions, the
kernel in the notebook's own folder, the executed copy written into the project.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from dockyard.spec.stack import ParamValue

NOTEBOOK_RUNNER = "/opt/dockyard/runtime/run_notebook.py"

__all__ = ["NOTEBOOK_RUNNER", "NotebookJob", "ParamValue", "executed_copy", "notebook_argv",
           "sibling"]


@dataclass(frozen=True)
class NotebookJob:
    """One headless run. Paths are POSIX and relative to the project root, which is the
    container's working directory; the kernel itself starts in the notebook's folder."""

    notebook: str
    output: str
    html: str = ""  # "": no HTML rendering
    parameters: tuple[tuple[str, str], ...] = ()  # as typed: papermill infers int/float/bool
    values: tuple[tuple[str, ParamValue], ...] = ()  # already typed (a spec's table): as JSON
    timeout: int = 600  # per cell, seconds; 0: none


def notebook_argv(job: NotebookJob) -> tuple[str, ...]:
    """The runner's command line inside the image (see runtime/run_notebook.py's docstring)."""
    argv = ["python3", NOTEBOOK_RUNNER, job.notebook, job.output]
    if job.values:
        argv += ["--parameters-json", json.dumps(dict(job.values), sort_keys=True)]
    for name, value in job.parameters:
        argv += ["-p", name, value]
    if job.html:
        argv += ["--html", job.html]
    return (*argv, "--timeout", str(job.timeout))


def sibling(rel: str, suffix: str) -> str:
    """`notebooks/a.ipynb` → `notebooks/a<suffix>`."""
    path = PurePosixPath(rel)
    return str(path.with_name(path.name.removesuffix(".ipynb") + suffix))


def executed_copy(notebook: str) -> str:
    """Where a run keeps the executed copy unless told: `NAME.executed.ipynb` beside it."""
    return sibling(notebook, ".executed.ipynb")
