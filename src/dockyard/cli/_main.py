"""The `dockyard` command group and the one top-level error handler."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

import click

from dockyard import __version__
from dockyard.cli._output import Output
from dockyard.errors import CommandExit, DockyardError, EngineError, NotReadyError

if TYPE_CHECKING:
    from dockyard.app.context import Project
    from dockyard.engine import Engine

EXIT_USER = 1
EXIT_BUG = 70


class Context:
    """What every command gets: the project folder, the output, and the engine."""

    def __init__(self, project_dir: str, verbose: bool, engine: Engine | None = None) -> None:
        self.project_dir = project_dir
        self.verbose = verbose
        self._engine = engine
        self._checked = False

    def output(self, json_mode: bool = False) -> Output:
        return Output(json_mode=json_mode, verbose=self.verbose)

    def project(self) -> Project:
        from dockyard.app.context import load_project

        return load_project(self.project_dir)

    def engine(self, check: bool = True) -> Engine:
        """The engine, checked once (EngineUnavailable with a hint when none answers). The one
        engine check: commands ask for it where they first need Docker, after their own input
        is checked, so bad input is reported without an engine. `check=False`: a command
        that does without an engine (`compose` writes its file anyway)."""
        if self._engine is None:
            from dockyard.engine import Engine

            self._engine = Engine()
        if check and not self._checked:
            self._engine.ping()
            self._checked = True
        return self._engine


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "--project", "project_dir", default=".", metavar="DIR",
              help="Project folder (default: the current directory).")
@click.option("-v", "--verbose", is_flag=True, help="Show engine commands and full build logs.")
@click.version_option(__version__, prog_name="dockyard")
@click.pass_context
def cli(ctx: click.Context, project_dir: str, verbose: bool) -> None:
    """From a data-science folder to a reproducible, running container."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(name)s: %(message)s")
    ctx.obj = Context(project_dir, verbose)


def main() -> None:
    """Entry point: run the group and turn errors into one line, a hint and an exit code."""
    verbose = "-v" in sys.argv[1:] or "--verbose" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except CommandExit as exc:
        sys.exit(exc.code)
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except DockyardError as exc:
        _report(exc, verbose)
        sys.exit(EXIT_USER)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception:
        if verbose:
            raise
        print("error: an unexpected error occurred (this is a bug in dockyard)\n"
              "hint: rerun with -v for the traceback and report it", file=sys.stderr)
        sys.exit(EXIT_BUG)


def _report(exc: DockyardError, verbose: bool) -> None:
    if isinstance(exc, EngineError) and exc.stderr_tail:
        print(exc.stderr_tail if verbose else _last_lines(exc.stderr_tail, 8), file=sys.stderr)
    if isinstance(exc, NotReadyError) and exc.log_tail:
        print(_last_lines(exc.log_tail, 15), file=sys.stderr)
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)


def _last_lines(text: str, count: int) -> str:
    return "\n".join(f"  | {line}" for line in text.strip().splitlines()[-count:])
