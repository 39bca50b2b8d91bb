"""Render `compose.yaml` (Compose Specification) from a resolved stack: a dict, dumped by PyYAML.

Pure: a `StackSpec` with its images chosen, plus the project's image and data folders, in; an
`Artifact` out. No text templates, so YAML's quoting traps (`on`, `1.10`, `5432:5432` read as a
base-60 number) cannot happen; rendering twice gives the same bytes.
"""

from __future__ import annotations

import yaml

from dockyard.generate.artifacts import MARKER, Artifact
from dockyard.spec.stack import StackSpec
from dockyard.stack import parts
from dockyard.stack.parts import Doc
from dockyard.stack.roles import (
    GPU_PROFILE,
    PIPELINE_PROFILE,
    ProjectContext,
    data_volume,
    pipeline_step,
    project_role,
)
from dockyard.stack.services import compose_secrets, data_service, volume_name

COMPOSE_FILE = "compose.yaml"

HEADER = f"""\
# This file is {MARKER}. Edit dockyard.toml instead: `dockyard compose` rewrites it.
# Start it with `dockyard up` (or `docker compose up`); run the pipeline with
# `dockyard pipeline run`. Passwords are in .env (mode 0600, never committed): this file only
# refers to them. Profiles: "{PIPELINE_PROFILE}" holds the pipeline steps, "{GPU_PROFILE}" what
# needs an NVIDIA GPU, so a plain `docker compose up` starts the rest anywhere.
"""


def compose_document(stack: StackSpec, ctx: ProjectContext) -> Doc:
    """The Compose file as a dict, in the order a reader expects: services, then resources."""
    services: Doc = {}
    for svc in stack.services:
        if svc.kind in ("lab", "api", "dashboard"):
            services[svc.name] = project_role(svc, stack, ctx)
        else:
            services |= data_service(svc, stack, ctx.key)
    for step in stack.steps:
        services[step.name] = pipeline_step(step, stack, ctx)
    doc: Doc = {"name": stack.project, "services": services,
                "networks": {parts.NETWORK: {"labels": parts.labels(ctx.key, "network")}}}
    volumes = _volumes(stack, ctx)
    if volumes:
        doc["volumes"] = volumes
    secrets = compose_secrets(stack)
    if secrets:
        doc["secrets"] = secrets
    return doc


def _volumes(stack: StackSpec, ctx: ProjectContext) -> Doc:
    """A named volume per stateful service, and one per data folder: a bind to the host
    folder, so the data stays where the user put it and every container sees the same files."""
    volumes: Doc = {volume_name(s): {"labels": parts.labels(ctx.key, "volume")}
                    for s in stack.services if s.kind in ("postgres", "redis", "minio", "mlflow")}
    uses_data = any(s.kind in ("lab", "api", "dashboard") for s in stack.services) or stack.steps
    for folder in ctx.data_dirs if uses_data else ():
        volumes[data_volume(folder)] = {
            "driver": "local",
            "driver_opts": {"type": "none", "o": "bind", "device": f"./{folder.strip('/')}"},
            "labels": parts.labels(ctx.key, "data"),
        }
    return volumes


def render_compose(stack: StackSpec, ctx: ProjectContext) -> str:
    body = yaml.safe_dump(compose_document(stack, ctx), sort_keys=False,
                          default_flow_style=False, allow_unicode=True,
                          width=1_000_000)  # no folded lines: one value, one line
    return HEADER + body


def compose_artifact(stack: StackSpec, ctx: ProjectContext) -> Artifact:
    return Artifact(COMPOSE_FILE, render_compose(stack, ctx))
