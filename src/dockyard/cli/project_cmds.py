"""inspect, init, lock, generate: commands that read the project and write files, no engine."""

from __future__ import annotations

import click

from dockyard.cli._main import Context, cli


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the detection as JSON.")
@click.pass_obj
def inspect(ctx: Context, as_json: bool) -> None:
    """Detect Python, dependencies, undeclared imports, system packages and GPU needs."""
    out = ctx.output(as_json)
    project = ctx.project()
    det = project.detection
    doc = det.to_json()
    doc["spec"] = {"file": project.loaded.file, "python": project.spec.python,
                   "provenance": project.spec.provenance,
                   "requirements": list(project.spec.requirements),
                   "install_project": project.spec.install_project,
                   "undeclared_not_installed": [i.module for i in det.undeclared_imports
                                                if not project.spec.installs(i.module)]}
    out.emit(doc)
    out.info(f"project   {project.root}")
    out.info(f"python    {project.spec.python}  ({project.spec.provenance['python']})")
    env = det.environment
    out.info(f"environment  {env.folder + '/' if env.folder else './'}  ({env.reason})")
    for label, script in (("postBuild", det.post_build), ("start", det.start)):
        if script:
            out.info(f"{label:9} {script}")
    if project.spec.install_project:
        out.info(f"package   the project itself ({project.spec.install_project}), installed "
                 "editable from /workspace, without its dependencies")
    elif det.package:
        out.info(f"package   {det.package} (not installed: [build] install_project = false)")
    out.info(f"declared  {len(det.dependencies)} dependencies")
    for dep in det.dependencies:
        out.info(f"  {dep.requirement():40} {dep.source}")
    if det.undeclared_imports:
        out.info(f"undeclared imports ({len(det.undeclared_imports)}; [dependencies] "
                 f"install_undeclared = {_toml(project.spec.install_undeclared)}):")
        for imp in det.undeclared_imports:
            shown = imp.distribution if project.spec.installs(imp.module) else \
                "not installed (unknown name)"
            out.info(f"  {imp.module:20} -> {shown:28} {', '.join(imp.files[:3])}")
    if det.notebook_installs:
        out.info(f"installed by notebooks ({len(det.notebook_installs)}; `pip install` in a "
                 "cell, not in a dependency file):")
        for dep in det.notebook_installs:
            out.info(f"  {dep.requirement():40} {dep.source}")
    if det.optional_imports:
        out.info(f"optional imports ({len(det.optional_imports)}), never installed by guess:")
        for opt in det.optional_imports:
            out.info(f"  {opt.module:20} {opt.reason:28} {', '.join(opt.files[:3])}")
    if det.system_packages:
        out.info(f"system    {' '.join(det.system_packages)}")
    gpu = "wanted" if det.gpu.wanted else "not requested"
    frameworks = ", ".join(det.gpu.frameworks) or "none"
    out.info(f"gpu       {gpu} (frameworks: {frameworks})")
    if det.data_dirs:
        out.info(f"data      {', '.join(det.data_dirs)} (mounted at run time, never copied)")
    if det.notebooks:
        out.info(f"notebooks {', '.join(det.notebooks)}")
    if det.models:
        out.info(f"models    {', '.join(det.models)}")
    for finding in det.findings:
        out.info(f"{finding.severity}: {finding.message}"
                 + (f"\n  hint: {finding.hint}" if finding.hint else ""))


def _toml(mode: str) -> str:
    return {"all": "true", "none": "false"}.get(mode, '"known"')


@cli.command()
@click.option("--force", is_flag=True, help="Replace an existing dockyard.toml.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def init(ctx: Context, force: bool, as_json: bool) -> None:
    """Write dockyard.toml from what was detected."""
    from dockyard.app.files import write_spec

    out = ctx.output(as_json)
    written = write_spec(ctx.project(), force)
    out.emit({"written": "dockyard.toml"})
    out.info(f"wrote {written}")


@cli.command()
@click.option("--ca-cert", type=str, default=None, help="CA bundle for a TLS-intercepting proxy.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def lock(ctx: Context, ca_cert: str | None, as_json: bool) -> None:
    """Pin every dependency with hashes for the image's Python and platform (dockyard.lock)."""
    from dockyard.app.context import resolve_ca_cert
    from dockyard.lock import lock as do_lock

    out = ctx.output(as_json)
    project = ctx.project()
    out.note(f"resolving {len(project.spec.requirements)} requirements for Python "
             f"{project.spec.python} on Linux…")
    result = do_lock(project.root, project.spec, resolve_ca_cert(ca_cert))
    out.emit({"lock": result.path, "packages": result.packages, "input_sha256": result.digest,
              "seconds": round(out.elapsed(), 2)})
    out.info(f"wrote {result.path}: {result.packages} packages pinned with hashes "
             f"({out.elapsed():.1f}s)")


@cli.command()
@click.option("--force", is_flag=True, help="Replace files that dockyard did not generate.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def generate(ctx: Context, force: bool, as_json: bool) -> None:
    """Write Dockerfile and .dockerignore (and the dependency list they use)."""
    from dockyard.app.files import generate_files
    from dockyard.cli._output import report_undeclared

    out = ctx.output(as_json)
    project = ctx.project()
    report_undeclared(out, project)
    done = generate_files(project, force)
    out.emit({"files": [a.path for a in done.artifacts], "changed": list(done.changed),
              "locked": done.locked})
    for art in done.artifacts:
        out.info(f"{'wrote    ' if art.path in done.changed else 'unchanged'} {art.path}")
