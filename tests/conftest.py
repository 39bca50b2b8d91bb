"""Shared test helpers: run the real CLI as a subprocess and copy example projects."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str


def run_dockyard(*args: str, env: dict[str, str] | None = None, timeout: float = 900,
                 input_text: str | None = None) -> Ran:
    """Run `python -m dockyard ARGS` exactly as a user would, and capture everything."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "dockyard", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout, input=input_text,
                          check=False)
    return Ran(proc.returncode, proc.stdout, proc.stderr)


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(
        ".dockyard", "outputs", "*.executed.ipynb"))
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project folder (one script importing pandas); test modules may define their own."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "train.py").write_text("import pandas\n")
    return root


@pytest.fixture
def dockyard_cli():  # type: ignore[no-untyped-def]
    return run_dockyard
