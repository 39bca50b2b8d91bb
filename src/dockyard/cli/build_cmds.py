"""build, base, push: commands that make or move images."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dockyard.cli._main import Context, cli
from dockyard.errors import UserError

if TYPE_CHECKING:
    from dockyard.cli._output import Output
    from dockyard.engine import Engine


@cli.command()
@click.option("--tag", "-t", default="", help="Image name (default: dockyard/<name>:latest).")
@click.option("--base", default=None, help="Base image (default: python:<version>-slim).")
@click.option("--ca-cert", default=None, help="CA bundle for a TLS proxy, passed as a secret.")
@click.option("--locked", is_flag=True, help="Fail unless dockyard.lock is up to date.")
@click.option("--no-cache", is_flag=True, help="Build every layer again.")
@click.option("--refresh", is_flag=True,
              help="Resolve the dependencies again even when no declaration changed.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def build(ctx: Context, tag: str, base: str | None, ca_cert: str | None, locked: bool,
          no_cache: bool, refresh: bool, as_json: bool) -> None:
    """Build the project's image on the Docker engine (BuildKit)."""
    from dockyard.app.building import build_project
    from dockyard.cli._output import BuildProgress, report_undeclared

    out = ctx.output(as_json)
    engine = ctx.engine()
    project = ctx.project()
    report_undeclared(out, project)
    out.note(f"resolving dependencies and building {tag or project.image} (Python "
             f"{project.spec.python})…")
    outcome = build_project(engine, project, tag=tag, base=base, ca_cert=ca_cert, locked=locked,
                            no_cache=no_cache, refresh=refresh, on_line=BuildProgress(out))
    for note in outcome.notes:
        out.warn(note)
    res = outcome.result
    out.emit({"image": res.image, "id": res.id, "size_bytes": res.size_bytes,
              "seconds": round(res.seconds, 2), "base": outcome.base.image,
              "base_source": outcome.base.source, "locked": outcome.locked,
              "pins_file": outcome.resolution.path, "pins": list(outcome.resolution.pins),
              "from_source": list(outcome.resolution.from_source),
              "cached_steps": list(res.cached_steps), "steps": list(res.steps)})
    out.info(f"built {res.image} ({res.id[7:19]}, {res.size_bytes / 1e6:.0f} MB) in "
             f"{res.seconds:.1f}s from {outcome.base.image} [{outcome.base.source}]; "
             f"{len(res.cached_steps)}/{len(res.steps)} steps cached")


@cli.command()
@click.option("--python", "python", default="3.11", show_default=True,
              help="Python version (Debian's: 3.9 bullseye, 3.11 bookworm, 3.13 trixie, "
                   "3.14 forky).")
@click.option("--tag", default="",
              help="Image name (default: localhost/dockyard/python:<version>).")
@click.option("--mirror", default="http://deb.debian.org/debian", show_default=True)
@click.option("--if-stale", is_flag=True,
              help="Build only when the image is missing or an older recipe built it.")
@click.option("--services", default="", metavar="LIST",
              help="Also build stack services' images from Debian/PyPI packages: "
                   "postgres,redis,mlflow,spark[=VERSION]. The Python base is then built only "
                   "when missing or stale.")
@click.option("--ca-cert", default=None, help="CA bundle for a TLS proxy (pip in --services).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def base(ctx: Context, python: str, tag: str, mirror: str, if_stale: bool, services: str,
         ca_cert: str | None, as_json: bool) -> None:
    """Build a Python base image from Debian packages, for machines without a registry."""
    from dockyard.cli.stack_cmds import build_services
    from dockyard.engine.base import base_state, base_tag, supported_suite

    out = ctx.output(as_json)
    supported_suite(python)  # an unsupported version fails before any work
    from dockyard.app.service_images import parse_services

    wanted = parse_services(services) if services else []  # bad names fail before any work
    engine = ctx.engine()
    tag = tag or base_tag(python)
    state = base_state(engine, tag, python)
    doc: dict[str, object] = {"image": tag, "state": state}
    if (if_stale or wanted) and state == "fresh":
        out.info(f"{tag} is up to date (built by today's recipe)")
    else:
        if state == "stale":
            out.note(f"{tag} was built by an older recipe: rebuilding it")
        doc.update(_build_base(ctx, engine, out, python, tag, mirror))
    if wanted:
        doc["services"] = build_services(ctx, out, wanted, tag, ca_cert)
    out.emit(doc)


def _build_base(ctx: Context, engine: Engine, out: Output, python: str, tag: str,
                mirror: str) -> dict[str, object]:
    from dockyard.engine.base import build_base
    from dockyard.engine.images import image_size

    out.note(f"debootstrap: building a Debian root with Python {python}…")
    step = {"n": 0}

    def progress(line: str) -> None:
        step["n"] += 1
        if ctx.verbose or line.startswith("I: Base system") or step["n"] % 40 == 0:
            out.note(f"  {line}")

    result = build_base(engine, python, tag, mirror, on_line=progress)
    size = image_size(engine, result.tag)
    out.info(f"built {result.tag} (Debian {result.suite}, {size / 1e6:.0f} MB) in "
             f"{result.seconds:.0f}s; builds use it when python:{python}-slim cannot be pulled")
    return {"image": result.tag, "state": "built", "suite": result.suite, "size_bytes": size,
            "seconds": round(result.seconds, 1)}


@cli.command()
@click.argument("ref", required=False)
@click.option("--serving", is_flag=True,
              help="Push the serving image (built by `dockyard serve`) instead.")
@click.option("--service", metavar="KIND",
              help="Push the image dockyard built for the stack's KIND service (mlflow), which "
                   "a cluster pulls as REGISTRY/dockyard-KIND:VERSION.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def push(ctx: Context, ref: str | None, serving: bool, service: str | None,
         as_json: bool) -> None:
    """Tag the project's image as REGISTRY/REPO[:TAG] and push it (REF defaults to
    [deploy] registry/NAME:latest). The digest is recorded: `k8s`, `helm` and `airflow` pin it."""
    from dockyard.app.building import project_image_ready
    from dockyard.app.k8s import service_image
    from dockyard.app.published import default_ref, record_push, service_ref, service_role
    from dockyard.app.serving import latest_serving_image
    from dockyard.engine.images import image_exists, image_id
    from dockyard.engine.images import push as do_push

    out = ctx.output(as_json)
    project = ctx.project()
    if serving and service:
        raise UserError("--serving and --service name different images",
                        hint="push one at a time")
    role = service_role(service) if service else "serving" if serving else "project"
    source = service_image(project, service) if service else ""
    ref = ref or (service_ref(project, source) if service else default_ref(
        project, "serving" if serving else "project"))
    if not ref:
        raise UserError("push needs a reference: REGISTRY/REPO[:TAG]",
                        hint='for example `dockyard push localhost:5000/churn:1.0`, or set '
                             '[deploy] registry = "registry.example.com/team" in dockyard.toml')
    engine = ctx.engine()
    target = ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"
    if service and not image_exists(engine, source):
        raise UserError(f"{source} is not on this machine",
                        hint=f"build it: dockyard base --services {service}")
    if not service:
        source = latest_serving_image(engine, project) if serving else project_image_ready(
            engine, project)
    what = f"{service} service" if service else "serving" if serving else "project"
    out.note(f"pushing the {what} image as {target}…")
    result = do_push(engine, source, target)
    record_push(project, role, result.ref, result.digest, image_id(engine, source),
                source=source if service else "")
    out.emit({"ref": result.ref, "digest": result.digest,
              "pull": f"{result.ref.rsplit(':', 1)[0]}@{result.digest}"})
    out.info(f"pushed {result.ref}\ndigest {result.digest}")
