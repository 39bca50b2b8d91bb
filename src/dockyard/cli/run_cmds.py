"""run, lab, stop, ps: containers from the project's image."""

from __future__ import annotations

from typing import Any

import click

from dockyard.cli._main import Context, cli
from dockyard.cli._output import follow_or_detach, up_to_date_image
from dockyard.errors import CommandExit, UserError


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--output", "-o", default="",
              help="Where to write the executed notebook (default: NAME.executed.ipynb).")
@click.option("--parameter", "-p", "parameters", type=(str, str), multiple=True,
              metavar="NAME VALUE", help="A notebook parameter, papermill's way (repeatable).")
@click.option("--html", is_flag=True, help="Also write the executed notebook as an HTML page.")
@click.option("--timeout", default=600, show_default=True, help="Per-cell timeout (notebooks).")
@click.option("--no-build", is_flag=True,
              help="Use the newest image as it is, without bringing it up to date.")
@click.option("--json", "as_json", is_flag=True, help="Report a notebook run as JSON.")
@click.pass_context
def run(click_ctx: click.Context, command: tuple[str, ...], output: str,
        parameters: tuple[tuple[str, str], ...], html: bool, timeout: int, no_build: bool,
        as_json: bool) -> None:
    """Run COMMAND in the image (`dockyard run -- python train.py`), or execute a notebook
    headless (`dockyard run notebooks/a.ipynb -p alpha 0.5 --html`) with its kernel in the
    notebook's folder, as Jupyter does. The project is mounted at /workspace."""
    from dockyard.app.running import run_command

    ctx: Context = click_ctx.obj
    if command and command[0].endswith(".ipynb"):
        options = _notebook_options(click_ctx, command[1:])
        _run_notebook(ctx, command[0], options)
        return
    if parameters or html or output:
        raise UserError("-p, --output and --html apply to notebook runs",
                        hint="dockyard run notebook.ipynb -p alpha 0.5 --html")
    if not command:
        raise UserError("nothing to run", hint="dockyard run -- python train.py  "
                                                "(or: dockyard run notebook.ipynb)")
    engine = ctx.engine()
    project = ctx.project()
    image = up_to_date_image(ctx.output(), engine, project, no_build)
    code = run_command(engine, project, image, command)
    if code != 0:
        raise CommandExit(code)


def _notebook_options(click_ctx: click.Context, tail: tuple[str, ...]) -> dict[str, Any]:
    """`run`'s options, given before the notebook or after it (`dockyard run nb.ipynb -p a 1`):
    the words after the notebook are parsed with `run`'s own definitions."""
    options = dict(click_ctx.params)
    if not tail:
        return options
    after = run.make_context("run NOTEBOOK", list(tail), parent=click_ctx.parent)
    if after.params["command"]:
        raise UserError(f"unexpected {after.params['command'][0]!r} after the notebook",
                        hint="dockyard run NOTEBOOK [-p NAME VALUE]... [-o OUTPUT] [--html]")
    for name, value in after.params.items():
        if name == "parameters":
            options[name] = (*options[name], *value)
        elif after.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
            options[name] = value
    return options


def _run_notebook(ctx: Context, notebook: str, options: dict[str, Any]) -> None:
    from dockyard.app.notebooks import notebook_job, run_notebook

    out = ctx.output(options["as_json"])
    project = ctx.project()
    job = notebook_job(project.root, notebook, output=options["output"], html=options["html"],
                       parameters=options["parameters"], timeout=options["timeout"])
    engine = ctx.engine()
    image = up_to_date_image(out, engine, project, options["no_build"])
    out.note(f"executing {job.notebook} in the project's image…")
    result = run_notebook(engine, project, image, job, on_line=out.note)
    out.emit({"notebook": result.notebook, "output": result.output, "html": result.html,
              "parameters": dict(job.parameters), "exit_code": result.exit_code,
              "error": result.error, "seconds": round(out.elapsed(), 2)})
    if result.exit_code != 0:
        hint = (f"the executed copy with the traceback is in {result.output}" if result.cell_failed
                else "the notebook did not run to its cells; see the lines above")
        raise UserError(f"{result.notebook}: {result.error}", hint=hint)
    page = f" and {result.html}" if result.html else ""
    out.info(f"ran {result.notebook} -> {result.output}{page} ({out.elapsed():.1f}s)")


@cli.command()
@click.option("--port", type=int, default=None, help="Host port (default 8888).")
@click.option("--host", default=None, help="Host address to bind (default 127.0.0.1).")
@click.option("--detach", "-d", is_flag=True, help="Leave it running in the background.")
@click.option("--no-build", is_flag=True,
              help="Use the newest image as it is, without bringing it up to date.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def lab(ctx: Context, port: int | None, host: str | None, detach: bool, no_build: bool,
        as_json: bool) -> None:
    """Start JupyterLab in the image, behind a fresh token, and print its URL."""
    from dockyard.app.running import start_lab

    out = ctx.output(as_json)
    engine = ctx.engine()
    project = ctx.project()
    image = up_to_date_image(out, engine, project, no_build)
    out.note("starting JupyterLab in the project's image…")
    session = start_lab(engine, project, image, port=port, host=host)
    out.emit({"url": session.url, "token": session.token, "container": session.container,
              "name": session.name, "port": session.port, "host": session.host,
              "seconds_to_ready": round(session.seconds_to_ready, 2)})
    out.info(f"JupyterLab is ready ({session.seconds_to_ready:.1f}s): {session.url}")
    follow_or_detach(out, engine, session.name, detach, stop_timeout=5)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def stop(ctx: Context, as_json: bool) -> None:
    """Stop every container this project started."""
    from dockyard.app.running import stop_project

    out = ctx.output(as_json)
    engine = ctx.engine()
    stopped = stop_project(engine, ctx.project())
    out.emit({"stopped": stopped})
    out.info("\n".join(f"stopped {name}" for name in stopped) or "nothing was running")


@cli.command()
@click.option("--all", "-a", "all_states", is_flag=True, help="Include stopped containers.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def ps(ctx: Context, all_states: bool, as_json: bool) -> None:
    """List dockyard's containers (every project)."""
    from dataclasses import asdict

    from dockyard.engine.containers import list_containers

    out = ctx.output(as_json)
    engine = ctx.engine()
    rows = list_containers(engine, all_states=all_states)
    out.emit({"containers": [asdict(r) for r in rows]})
    out.info(f"{'NAME':40} {'ROLE':9} {'STATUS':22} PORTS")
    for r in rows:
        out.info(f"{r.name[:40]:40} {r.role:9} {r.status[:22]:22} {r.ports}")
