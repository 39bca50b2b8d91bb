"""The README is tested: every dockyard.toml snippet loads, every flag it documents exists.

A renamed spec key or CLI option fails here, so the README cannot drift from the code.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from dockyard.app import k8s
from dockyard.app.context import load_project
from dockyard.cli import cli
from dockyard.spec.resolve_stack import resolve_stack

README = Path(__file__).resolve().parents[2] / "README.md"
TEXT = README.read_text()
FENCED = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)
TOML_BLOCKS = [body for lang, body in FENCED.findall(TEXT) if lang == "toml"]
SH_LINES = [line for lang, body in FENCED.findall(TEXT) if lang == "sh"
            for line in body.splitlines() if line.strip().startswith("dockyard ")]
TABLE_COMMANDS = re.findall(r"^\| `(dockyard [^`]+)`", TEXT, re.M)


def test_the_readme_has_what_these_tests_read() -> None:
    assert len(TOML_BLOCKS) >= 2 and len(SH_LINES) >= 5 and len(TABLE_COMMANDS) >= 20


@pytest.mark.parametrize("block", TOML_BLOCKS, ids=[f"toml{i}" for i in range(len(TOML_BLOCKS))])
def test_every_toml_snippet_is_a_valid_spec(block: str, tmp_path: Path) -> None:
    """Loaded and resolved as a user's dockyard.toml would be, stack included."""
    (tmp_path / "dockyard.toml").write_text(block)
    (tmp_path / "train.py").write_text("import pandas\n")
    for rel in re.findall(r'"((?:models|notebooks)/[\w./-]+)"', block):  # files it names
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    project = load_project(tmp_path)
    if "[services." in block or "[pipeline." in block:
        stack = resolve_stack(project.loaded.spec, project.spec, project.view,
                              project.loaded.file)
        assert stack.services or stack.steps
    if "[deploy" in block:
        assert project.deploy.name  # resolved: every cross-field check passes
        # and the checks that need the stack (object names, storage keys) pass too
        for folder in project.spec.data_dirs:
            (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        assert k8s.plan(load_project(tmp_path)).cluster.workloads


def _command(words: list[str]) -> tuple[click.Command, list[str]]:
    """The click command a documented line names, and the words after its name."""
    command: click.Command = cli
    rest = words[1:]
    while rest and rest[0] in ("-C", "--project", "-v", "--verbose"):  # the group's own
        rest = rest[2:] if rest[0] in ("-C", "--project") else rest[1:]
    while rest and isinstance(command, click.Group) and rest[0] in command.commands:
        command, rest = command.commands[rest[0]], rest[1:]
    return command, rest


def _flags(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for param in [*command.params, *cli.params]:
        if isinstance(param, click.Option):
            names.update(param.opts, param.secondary_opts)
    return names


DOCUMENTED = sorted({*SH_LINES, *TABLE_COMMANDS})


@pytest.mark.parametrize("line", DOCUMENTED)
def test_every_documented_command_and_flag_exists(line: str) -> None:
    words = line.split("#", 1)[0].replace("[", " ").replace("]", " ").replace("|", " ").split()
    command, rest = _command(words)
    assert command is not cli, f"{line!r}: no such command"
    flags = {w.split("=", 1)[0] for w in rest if w.startswith("-") and w != "--"
             and not w.startswith("--json}")}
    unknown = sorted(flags - _flags(command))
    assert not unknown, f"{line!r}: {command.name} has no {', '.join(unknown)}"


def test_a_renamed_key_in_a_snippet_would_fail(tmp_path: Path) -> None:
    """The check above can fail: the README's own main snippet with one key misspelt."""
    from dockyard.errors import SpecError

    block = next(b for b in TOML_BLOCKS if "[build]" in b).replace("compilers =", "compiler =")
    (tmp_path / "dockyard.toml").write_text(block)
    with pytest.raises(SpecError, match="compiler"):
        load_project(tmp_path)
