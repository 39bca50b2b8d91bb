"""doctor: check the machine."""

from __future__ import annotations

from dataclasses import asdict

import click

from dockyard.cli._main import Context, cli
from dockyard.errors import CommandExit


@cli.command()
@click.option("--python", "python", default="3.11", show_default=True,
              help="Python version whose base image to look for.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def doctor(ctx: Context, python: str, as_json: bool) -> None:
    """Check the engine, BuildKit, compose, the base image and disk space."""
    from dockyard.app.doctor import run_checks

    out = ctx.output(as_json)
    checks = run_checks(ctx.engine(check=False), python)
    failed = [c for c in checks if not c.ok and c.severity == "error"]
    out.emit({"ok": not failed, "checks": [asdict(c) for c in checks]})
    for c in checks:
        mark = "ok  " if c.ok else ("FAIL" if c.severity == "error" else "warn")
        out.info(f"{mark} {c.name:15} {c.detail}")
        if not c.ok and c.remedy:
            out.info(f"     {'':15} fix: {c.remedy}")
    if failed:
        raise CommandExit(1)
