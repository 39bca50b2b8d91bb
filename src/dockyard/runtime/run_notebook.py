"""Execute a notebook headless the way Jupyter runs it, and write the executed copy.

Runs inside a dockyard image: copied in as it is, run by `dockyard run NOTEBOOK` and (later) by
pipeline steps, never imported by dockyard on the host. Execution is papermill's, so:

- the kernel starts in the notebook's own folder, as in JupyterLab, nbconvert and papermill, so
  `sys.path.insert(0, '../src')` and `pd.read_csv('../data/x.csv')` mean what they mean there;
- parameters are injected papermill's way: a cell tagged `injected-parameters` right after the
  cell tagged `parameters` (at the top when there is none, with a warning).

Usage:
  python3 run_notebook.py NOTEBOOK OUTPUT [-p NAME VALUE]... [--parameters-json JSON]
                          [--html PATH] [--timeout SECONDS]

  -p NAME VALUE         a parameter, its type inferred as papermill's CLI does it
                        (True/False/None, then int, then float, else the string)
  --parameters-json     a JSON object of parameters whose types are already known (a spec's
                        table); `-p` values given as well win over it
  --html PATH           also write an HTML rendering (nbconvert) of the executed copy
  --timeout SECONDS     per-cell timeout (default 600; 0: none)

Paths are relative to the current directory; OUTPUT's folder is created when missing.
stderr shows one `[k/N] cell k: <first line>` line as each code cell starts. Exit 0 on success.
When no cell could start (the notebook does not load, no kernel): one `run_notebook.py: error:`
line, exit 1. On a failing cell: the last lines of its traceback, then one line
`DOCKYARD_CELL_ERROR: cell K raised Name: value` (K counts the executed copy's code cells from 1,
as the progress lines do), and exit 1; the executed copy (and HTML) are written all the same.
Exit 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from typing import Any, TextIO

ERROR_MARKER = "DOCKYARD_CELL_ERROR: "
INJECTED_TAG = "injected-parameters"
TRACEBACK_LINES = 8
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The arguments; exits 2 with argparse's usage message when they are wrong."""
    parser = argparse.ArgumentParser(
        prog="run_notebook.py", description=__doc__.split("\n")[0],
        usage="%(prog)s NOTEBOOK OUTPUT [-p NAME VALUE]... [--parameters-json JSON] "
              "[--html PATH] [--timeout SECONDS]")
    try:
        pairs, rest = _take_parameters(argv)
    except ValueError as exc:
        parser.error(str(exc))
    parser.add_argument("notebook")
    parser.add_argument("output")
    parser.add_argument("--parameters-json", default="")
    parser.add_argument("--html", default="")
    parser.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args(rest)
    args.parameter = pairs
    return args


def _take_parameters(argv: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """`-p NAME VALUE` triples, taken out before argparse sees them: as with papermill's own
    CLI, VALUE is whatever follows, even `-x` or `--flag` (argparse would take those for
    options)."""
    pairs: list[tuple[str, str]] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in ("-p", "--parameter"):
            if len(argv) - i < 3:
                raise ValueError(f"{argv[i]} needs NAME VALUE")
            pairs.append((argv[i + 1], argv[i + 2]))
            i += 3
        else:
            rest.append(argv[i])
            i += 1
    return pairs, rest


def parameters(args: argparse.Namespace) -> dict[str, Any]:
    """JSON ones first, then `-p` ones in order with papermill's type inference: the last wins."""
    from papermill.cli import _resolve_type  # the rule `papermill -p` applies, not a copy of it

    merged: dict[str, Any] = {}
    if args.parameters_json:
        loaded = json.loads(args.parameters_json)
        if not isinstance(loaded, dict):
            raise ValueError("--parameters-json must be a JSON object")
        merged.update(loaded)
    for name, value in args.parameter:
        merged[name] = _resolve_type(value)
    bad = [name for name in merged if not str(name).isidentifier()]
    if bad:
        raise ValueError(f"not a Python name: {bad[0]!r}")
    return merged


def first_line(source: str, width: int = 70) -> str:
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    text = lines[0] if lines else ""
    return text if len(text) <= width else text[: width - 1] + "…"


class Progress:
    """Numbers the code cells of the notebook being executed and reports each as it starts."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.ordinals: dict[int, int] = {}
        self.current: int | None = None  # index of the cell running now (executed notebook)

    def begin(self, nb: Any) -> None:
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
        self.ordinals = {index: n for n, index in enumerate(code, start=1)}

    def name(self, index: int) -> str:
        return f"cell {self.ordinals[index]}" if index in self.ordinals else "a cell"

    def cell_started(self, cell: Any, cell_index: int) -> None:
        self.current = cell_index
        what = ("parameters (injected)" if INJECTED_TAG in cell.metadata.get("tags", [])
                else first_line(cell.source))
        total = len(self.ordinals)
        print(f"[{self.ordinals.get(cell_index, '?')}/{total}] {self.name(cell_index)}: {what}",
              file=self.stream, flush=True)


class NotStarted(Exception):
    """The run failed before any cell started: the notebook did not load, no kernel."""


def _engine() -> type:
    """papermill's nbclient engine, told to report progress through nbclient's own hook."""
    import subprocess

    import papermill.engines
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class QuietKernelClient(PapermillNotebookClient):
        def execute(self, **kwargs: Any) -> Any:
            # The kernel process's own stderr is not the notebook's (a cell's stderr reaches
            # us through the kernel protocol): under load, ipykernel's shutdown races print
            # tornado tracebacks there that no log level silences.
            return super().execute(stderr=subprocess.DEVNULL, **kwargs)

    papermill.engines.PapermillNotebookClient = QuietKernelClient

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str,
                                     **kwargs: Any) -> Any:
            progress: Progress = kwargs.pop("progress")
            progress.begin(nb_man.nb)
            # The kernel's own log stays quiet: it warns about loopback TCP on every start,
            # and jupyter_client interrupts every kernel it shuts down, which ipykernel logs
            # as an error. What a cell raises reaches us as the cell's error output instead.
            # (IPC would silence the first, but puts its socket files in the notebook's folder.)
            return super().execute_managed_notebook(
                nb_man, kernel_name, on_cell_execute=progress.cell_started,
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"], **kwargs)

    papermill_engines.register("dockyard", ProgressEngine)
    return ProgressEngine


def traceback_tail(lines: list[str], count: int = TRACEBACK_LINES) -> list[str]:
    """The last lines of a kernel traceback, colours removed; IPython's two header lines
    (a rule and `Name   Traceback (most recent call last)`) are dropped as noise."""
    text = _ANSI.sub("", "\n".join(lines[2:] if len(lines) > 2 else lines))
    kept = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    return kept[-count:]


def write_html(notebook_path: str, html_path: str) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook_path, as_version=4)
    body, _ = HTMLExporter().from_notebook_node(nb)
    _ensure_parent(html_path)
    with open(html_path, "w", encoding="utf-8") as fh:
        fh.write(body)


def _ensure_parent(path: str) -> None:
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)


def execute(args: argparse.Namespace, params: dict[str, Any], progress: Progress,
            stderr: TextIO) -> str:
    """Run the notebook; '' on success, else the failure in one line (the marker's text)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source, output = os.path.abspath(args.notebook), os.path.abspath(args.output)
    _ensure_parent(output)
    _engine()
    try:
        papermill.execute_notebook(
            source, output, parameters=params, engine_name="dockyard", kernel_name="python3",
            language="python", cwd=os.path.dirname(source), progress_bar=False,
            execution_timeout=args.timeout or None, progress=progress)
    except PapermillExecutionError as exc:
        for line in traceback_tail(list(exc.traceback)):
            print(f"  | {line}", file=stderr)
        return f"{progress.name(exc.cell_index)} raised {exc.ename}: {exc.evalue}"
    except Exception as exc:  # a timeout, a dead kernel: no error output in any cell
        message = (_ANSI.sub("", str(exc)).strip().splitlines() or [""])[0]
        if progress.current is None:
            raise NotStarted(f"{type(exc).__name__}: {message}") from exc
        where = progress.name(progress.current)
        if isinstance(exc, TimeoutError):
            return f"{where} timed out after {args.timeout}s (--timeout)"
        return f"{where} failed: {type(exc).__name__}: {message}"
    return ""


def main(argv: list[str], stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    args = parse_args(argv)
    try:
        params = parameters(args)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError too
        print(f"run_notebook.py: error: {exc}", file=stderr)
        return 2
    # papermill's own warnings (an unknown parameter, no `parameters` cell) are worth seeing.
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s", stream=stderr)
    started = time.monotonic()
    progress = Progress(stderr)
    try:
        failure = execute(args, params, progress, stderr)
    except NotStarted as exc:
        print(f"run_notebook.py: error: {exc}", file=stderr)
        return 1
    if args.html and os.path.exists(args.output):
        write_html(args.output, args.html)
    if failure:
        print(ERROR_MARKER + failure, file=stderr, flush=True)
        return 1
    extra = f" and {args.html}" if args.html else ""
    print(f"{len(progress.ordinals)} code cells executed in "
          f"{time.monotonic() - started:.1f}s -> {args.output}{extra}", file=stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
