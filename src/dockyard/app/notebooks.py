"""Headless notebook runs: one job value, one argv for the runner inside the image.

The runner (runtime/run_notebook.py) does the work the way Jupyter does it: papermill executes
the notebook with the kernel in the notebook's own folder. This module checks what the user
asked for against the project; the runner's argv comes from `dockyard.plan.notebook`'s
`notebook_argv` — the one place that argv is written, for `dockyard run NOTEBOOK` and for
notebook pipeline steps alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.app.context import Project
from dockyard.app.running import project_workload
from dockyard.engine import containers as ctr
from dockyard.engine._cmd import Engine
from dockyard.errors import UserError
from dockyard.plan.notebook import (
    NOTEBOOK_RUNNER,
    NotebookJob,
    ParamValue,
    executed_copy,
    notebook_argv,
    sibling,
)

__all__ = ["ERROR_MARKER", "NOTEBOOK_RUNNER", "NotebookJob", "NotebookRun", "ParamValue",
           "notebook_argv", "notebook_job", "run_notebook"]

ERROR_MARKER = "DOCKYARD_CELL_ERROR: "  # the runner's last line when a cell fails


@dataclass(frozen=True)
class NotebookRun:
    notebook: str
    output: str
    html: str
    exit_code: int
    error: str  # "" on success; else `cell 3 raised ValueError: boom` or the last line said
    cell_failed: bool = False  # the runner named a failing cell (its executed copy is written)


def notebook_job(root: Path, notebook: str, *, output: str = "", html: bool = False,
                 parameters: Sequence[tuple[str, str]] = (),
                 values: Sequence[tuple[str, ParamValue]] = (), timeout: int = 600) -> NotebookJob:
    """Check a request against the project and fill in the defaults: the executed copy is
    `NAME.executed.ipynb` beside the notebook, the HTML page is the copy's name with `.html`."""
    rel = _inside(root, notebook, "notebook")
    if not rel.endswith(".ipynb") or not (root / rel).is_file():
        raise UserError(f"notebook {notebook!r} not found",
                        hint="give the path of an .ipynb file inside the project")
    out = _inside(root, output, "--output") if output else executed_copy(rel)
    if not out.endswith(".ipynb"):
        raise UserError(f"--output {output!r} must end in .ipynb",
                        hint=f"for example: --output {sibling(rel, '.out.ipynb')}")
    if out == rel:
        raise UserError(f"--output {output!r} is the notebook itself",
                        hint="name another file; the notebook is never overwritten")
    for name, _ in (*parameters, *values):
        if not name.isidentifier():
            raise UserError(f"parameter name {name!r} is not a Python variable name",
                            hint="-p NAME VALUE, for example: -p alpha 0.5")
    if timeout < 0:
        raise UserError(f"--timeout {timeout} is negative", hint="seconds per cell; 0: none")
    return NotebookJob(rel, out, sibling(out, ".html") if html else "", tuple(parameters),
                       tuple(values), timeout)


def run_notebook(engine: Engine, project: Project, image: str, job: NotebookJob,
                 on_line: Callable[[str], None]) -> NotebookRun:
    """Execute in the project's image with the project mounted; every line the runner says
    (cell progress, a traceback's tail, warnings) goes to `on_line` as it comes."""
    said: list[str] = []
    error = ""

    def handle(line: str) -> None:
        nonlocal error
        if line.startswith(ERROR_MARKER):
            error = line.removeprefix(ERROR_MARKER)
            return
        said.append(line)
        on_line(line)

    workload = project_workload(project, image, notebook_argv(job), "notebook")
    code = ctr.run_streaming(engine, workload, handle)
    cell_failed = bool(error)
    if code != 0 and not error:
        error = next((ln.strip() for ln in reversed(said) if ln.strip()),
                     f"the notebook run failed (exit code {code})")
    return NotebookRun(job.notebook, job.output, job.html, code, error, cell_failed)


def _inside(root: Path, path: str, what: str) -> str:
    """`path` (relative to the project root) as a POSIX path inside the project."""
    full = (root / path).resolve()
    try:
        return full.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UserError(f"{what} {path!r} is outside the project folder",
                        hint="the container sees only the project; use a path inside it, "
                             "or pass -C to another folder") from None
