"""compose, up, down, logs, stack ps, pipeline run: multi-service stacks with Docker Compose.

`dockyard ps` stays the global list of dockyard's containers (stack containers included, by
label); `dockyard stack ps` is one stack's view, service by service, with health and exit codes.
"""

from __future__ import annotations

import re
from typing import Any

import click

from dockyard.cli._main import Context, cli
from dockyard.cli._output import Output

# Compose erases the line before "exited with code" even with --ansi never.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _progress(out: Output) -> Any:
    """Compose's progress lines, condensed: `  postgres  Healthy`."""
    def show(line: str) -> None:
        words = line.split()
        if out.verbose:
            out.note(line)
        elif len(words) == 3 and words[0] in ("Container", "Volume", "Network") \
                and words[2] in ("Started", "Healthy", "Created", "Removed", "Exited"):
            out.note(f"  {words[1]:40} {words[2].lower()}")
    return show


def _build_progress(out: Output) -> Any:
    from dockyard.cli._output import BuildProgress

    return BuildProgress(out, quiet=True)


def _load(ctx: Context) -> Any:
    from dockyard.app.stack import load_stack

    # Unchecked: without an engine, images are chosen as if none were here.
    return load_stack(ctx.engine(check=False), ctx.project())


@cli.command("compose")
@click.option("--force", is_flag=True, help="Replace a compose.yaml that dockyard did not write.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def compose_cmd(ctx: Context, force: bool, as_json: bool) -> None:
    """Write compose.yaml for [services] and [pipeline], and the .env it needs.

    Data services use their official images, or the local builds of `dockyard base
    --services` when only those are on this machine (DOCKYARD_SERVICE_IMAGES=official|local
    forces one kind; [services.<name>] image = "..." names one).
    """
    from dockyard.app.stack import check_compose, write_stack

    out = ctx.output(as_json)
    stack = _load(ctx)
    for name, choice in stack.choices:
        out.note(f"{name}: {choice.image} ({choice.source})")
    for message, hint in stack.warnings:
        out.warn(message, hint)
    written = write_stack(stack, force=force)
    checked = check_compose(ctx.engine(check=False), stack)
    out.emit({"file": "compose.yaml", "project": stack.compose.name,
              "services": [s.name for s in stack.spec.services],
              "steps": [s.name for s in stack.spec.steps], "changed": list(written.changed),
              "env_added": list(written.env_added), "notes": list(written.notes),
              "images": {s.name: s.image for s in stack.spec.services if s.image}})
    out.info(f"{'wrote' if 'compose.yaml' in written.changed else 'unchanged'} compose.yaml "
             f"(project {stack.compose.name}; {checked})")
    if written.env_added:
        out.info(f"added {', '.join(written.env_added)} to .env (mode 0600)")
    for note in written.notes:
        out.info(note)


@cli.command()
@click.option("--detach", "-d", is_flag=True, help="Leave the stack running in the background.")
@click.option("--no-build", is_flag=True,
              help="Use the newest images as they are, without bringing them up to date.")
@click.option("--build", "_build", is_flag=True, hidden=True)  # the default now; kept for scripts
@click.option("--timeout", default=300, show_default=True, help="Seconds to wait for health.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def up(ctx: Context, detach: bool, no_build: bool, _build: bool, timeout: int,
       as_json: bool) -> None:
    """Start the stack and wait until every service is healthy."""
    from dockyard.app.stack import endpoints, ensure_ours, follow_then_stop, start_stack

    out = ctx.output(as_json)
    stack = _load(ctx)  # spec problems first: they need no engine
    ensure_ours(stack)
    engine = ctx.engine()
    for message, hint in stack.warnings:
        out.warn(message, hint)
    out.note(f"starting stack {stack.compose.name}…")
    started, skipped = start_stack(engine, stack, no_build=no_build, timeout=timeout,
                                   on_line=_progress(out), on_build_line=_build_progress(out))
    for name in skipped:
        out.warn(f"{name} needs a GPU and this engine has none: not started",
                 hint="install the NVIDIA Container Toolkit, or set gpu = false")
    found = endpoints(stack)
    out.emit({"project": stack.compose.name, "started": started, "skipped": skipped,
              "endpoints": dict(found)})
    out.info(f"stack {stack.compose.name} is up and healthy ({out.elapsed():.0f}s)")
    for name, where in found:
        out.info(f"  {name:12} {where}")
    if detach or as_json:
        out.note("running in the background; `dockyard down` stops it")
        return
    out.note("following the logs; Ctrl-C stops the stack (volumes are kept)")
    follow_then_stop(engine, stack)
    out.note("stopped")


@cli.command()
@click.option("--volumes", is_flag=True, help="Also delete the stack's volumes (its data).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def down(ctx: Context, volumes: bool, as_json: bool) -> None:
    """Stop and remove the stack's containers and network; volumes stay unless --volumes."""
    from dockyard.app.stack import compose_project, ensure_ours_to_delete, stop_stack

    out = ctx.output(as_json)
    compose = compose_project(ctx.project())
    if volumes:
        ensure_ours_to_delete(compose)  # before the engine: a refusal needs none
    engine = ctx.engine()
    result = stop_stack(engine, compose, volumes=volumes, on_line=_progress(out))
    out.emit({"project": compose.name, "removed_volumes": list(result.removed_volumes),
              "kept_volumes": list(result.kept_volumes)})
    out.info(f"stack {compose.name} is down")
    if result.removed_volumes:
        out.info(f"deleted volumes: {', '.join(result.removed_volumes)}")
    elif volumes:
        out.info("no volumes to delete")
    if result.kept_volumes:
        out.info(f"kept volumes: {', '.join(result.kept_volumes)} "
                 "(`dockyard down --volumes` deletes them)")


@cli.command()
@click.argument("service", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines.")
@click.option("--tail", default="all", show_default=True, help="Lines from the end, or all.")
@click.pass_obj
def logs(ctx: Context, service: str | None, follow: bool, tail: str) -> None:
    """Show the logs of the stack, or of one SERVICE (pipeline steps included)."""
    from dockyard.app.stack import compose_project
    from dockyard.engine import compose as dc
    from dockyard.errors import CommandExit, UserError

    engine = ctx.engine()
    dc.ensure_available(engine)
    compose = compose_project(ctx.project())
    known = sorted({s.service for s in dc.states(engine, compose)})
    if service and service not in known:
        raise UserError(f"no container of a service named {service!r} in stack {compose.name}",
                        hint="services with containers: "
                             + (", ".join(known) or "none (start the stack: dockyard up)"))
    try:
        code = dc.follow_logs(engine, compose, [service] if service else [], follow=follow,
                              tail=tail)
    except KeyboardInterrupt:
        code = 0
    if code != 0:
        raise CommandExit(code)


@cli.group()
def stack() -> None:
    """One stack's view: `dockyard stack ps`."""


@stack.command("ps")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def stack_ps(ctx: Context, as_json: bool) -> None:
    """The stack's services: state, health, exit code (steps) and ports."""
    from dataclasses import asdict

    from dockyard.app.stack import compose_project
    from dockyard.engine import compose as dc

    out = ctx.output(as_json)
    engine = ctx.engine()
    dc.ensure_available(engine)
    compose = compose_project(ctx.project())
    rows = dc.states(engine, compose)
    out.emit({"project": compose.name, "services": [asdict(r) for r in rows]})
    out.info(f"{'SERVICE':16} {'STATE':10} {'HEALTH':10} {'EXIT':5} PORTS")
    for r in rows:
        exit_code = str(r.exit_code) if r.state == "exited" else ""
        out.info(f"{r.service[:16]:16} {r.state:10} {r.health or '-':10} {exit_code:5} "
                 f"{r.ports}")
    if not rows:
        out.note(f"stack {compose.name} has no containers (start it with `dockyard up`)")


@cli.group()
def pipeline() -> None:
    """The [pipeline] steps: one-shot containers run in dependency order by Compose."""


@pipeline.command("run")
@click.option("--from", "from_step", default=None, metavar="STEP",
              help="Start at STEP (and what runs after it), reusing earlier results.")
@click.option("--no-build", is_flag=True,
              help="Use the newest images as they are, without bringing them up to date.")
@click.option("--build", "_build", is_flag=True, hidden=True)  # the default now; kept for scripts
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def pipeline_run(ctx: Context, from_step: str | None, no_build: bool, _build: bool,
                 as_json: bool) -> None:
    """Run the pipeline's steps; stop at the first failure, naming the step."""
    from dataclasses import asdict

    from dockyard.app.pipeline import run_pipeline, select_steps
    from dockyard.app.stack import ensure_ours

    out = ctx.output(as_json)
    stack = _load(ctx)  # spec problems first: they need no engine
    chosen = select_steps(stack, from_step)
    ensure_ours(stack)
    engine = ctx.engine()
    out.note(f"running {' -> '.join(chosen)} in stack {stack.compose.name}…")

    def step_output(line: str) -> None:
        # Step output (`train-1  | …`) and exits; Compose's own chatter only with -v.
        line = _ANSI.sub("", line)
        if ctx.verbose or " | " in line or "exited with code" in line:
            out.note(line)

    runs = run_pipeline(engine, stack, from_step=from_step, no_build=no_build, on_line=step_output,
                        on_build_line=_build_progress(out))
    out.emit({"project": stack.compose.name, "steps": [asdict(r) for r in runs]})
    for r in runs:
        out.info(f"  {r.name:16} ok  {r.seconds:6.1f}s")
    out.info(f"pipeline finished: {len(runs)} step(s) in {out.elapsed():.0f}s")


def build_services(ctx: Context, out: Output, wanted: list[tuple[str, str]], base_image: str,
                   ca_cert: str | None) -> list[dict[str, object]]:
    """`dockyard base --services`: local images of stack services, on the air-gapped base."""
    from dockyard.app.context import resolve_ca_cert
    from dockyard.app.service_images import MODE_ENV
    from dockyard.engine.service_images import build_service_image

    built = []
    for name, version in wanted:
        out.note(f"building {name} {version} from Debian/PyPI packages on {base_image}…")
        result = build_service_image(ctx.engine(), name, version, base_image,
                                     resolve_ca_cert(ca_cert),
                                     on_line=_build_progress(out))
        built.append({"service": name, "image": result.image, "size_bytes": result.size_bytes,
                      "seconds": round(result.seconds, 1)})
        out.info(f"built {result.image} ({result.size_bytes / 1e6:.0f} MB) in "
                 f"{result.seconds:.0f}s")
    out.note(f"stacks use these when the official images are not on this machine "
             f"({MODE_ENV}=local forces them)")
    return built
