"""Build small project trees in a temporary folder and open them as a ProjectView."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.project import ProjectView

MakeProject = Callable[[dict[str, str]], ProjectView]


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """`make_project({"requirements.txt": "numpy\\n", "src/pkg/__init__.py": ""})` → view.

    Contents are dedented, so tests can write indented triple-quoted files.
    """

    def make(files: dict[str, str]) -> ProjectView:
        for rel, content in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(content), encoding="utf-8")
        return ProjectView.open(tmp_path)

    return make


def notebook(*cells: str, language: str = "python") -> str:
    """An nbformat-4 notebook whose code cells hold `cells` (a markdown cell in between)."""
    markdown: dict[str, object] = {"cell_type": "markdown", "source": ["# x\n", "import no"]}
    body: list[dict[str, object]] = [markdown]
    for source in cells:
        lines = source.splitlines(keepends=True)
        body.append(
            {
                "cell_type": "code",
                "metadata": {},
                "source": lines,
                "outputs": [],
                "execution_count": None,
            }
        )
    meta = {"kernelspec": {"name": "k", "display_name": "k", "language": language}}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": meta, "cells": body})
