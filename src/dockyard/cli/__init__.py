"""The command line. Each module registers its commands on the one group in `_main`."""

from __future__ import annotations

from dockyard.cli import (
    airflow_cmd,
    build_cmds,
    deploy_cmds,
    doctor_cmd,
    helm_cmds,
    project_cmds,
    run_cmds,
    serve_cmds,
    stack_cmds,
)
from dockyard.cli._main import cli, main

__all__ = ["airflow_cmd", "build_cmds", "cli", "deploy_cmds", "doctor_cmd", "helm_cmds", "main",
           "project_cmds", "run_cmds", "serve_cmds", "stack_cmds"]
