"""Render `compose.yaml` (Compose Specification) from a resolved stack: a dict, dumped by PyYAML.

Pure: a `StackSpec` with its images chosen, plus the project's image and data folders, in;
resolved into Workloads (`dockyard.plan`), rendered (`dockyard.render.compose`); an `Artifact`
out. No text templates, so YAML's quoting traps (`on`, `1.10`, `5432:5432` read as a
base-60 number) cannot happen; rendering twice gives the same bytes.
"""

from __future__ import annotations

import yaml

from dockyard.generate.artifacts import MARKER, Artifact
from dockyard.plan.defaults import GPU_PROFILE, PIPELINE_PROFILE
from dockyard.plan.stack import ProjectContext, stack_workloads
from dockyard.render import compose
from dockyard.render.compose import Doc
from dockyard.spec.stack import StackSpec

COMPOSE_FILE = "compose.yaml"

HEADER = f"""\
# This file is {MARKER}. Edit dockyard.toml instead: `dockyard compose` rewrites it.
# Start it with `dockyard up` (or `docker compose up`); run the pipeline with
# `dockyard pipeline run`. Passwords are in .env (mode 0600, never committed): this file only
# refers to them. Profiles: "{PIPELINE_PROFILE}" holds the pipeline steps, "{GPU_PROFILE}" what
# needs an NVIDIA GPU, so a plain `docker compose up` starts the rest anywhere.
"""


def compose_document(stack: StackSpec, ctx: ProjectContext) -> Doc:
    """The Compose file as a dict: the stack's Workloads, rendered."""
    return compose.document(stack.project, ctx.key, stack_workloads(stack, ctx))


def render_compose(stack: StackSpec, ctx: ProjectContext) -> str:
    body = yaml.safe_dump(compose_document(stack, ctx), sort_keys=False,
                          default_flow_style=False, allow_unicode=True,
                          width=1_000_000)  # no folded lines: one value, one line
    return HEADER + body


def compose_artifact(stack: StackSpec, ctx: ProjectContext) -> Artifact:
    return Artifact(COMPOSE_FILE, render_compose(stack, ctx))
