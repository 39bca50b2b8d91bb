"""Issue 8 item 11: sharp edges that ended in exit 0 or "this is a bug" are user errors now:
one `error:` line, one `hint:` line, exit 1, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dockyard import lock as lock_module
from dockyard.app.context import load_project
from dockyard.errors import UserError
from tests.cli.test_errors import assert_user_error
from tests.conftest import run_dockyard

SPEC_HINT = "fix dockyard.toml, or run `dockyard init --force` to write a fresh one"


def _docker_with_compose() -> str:
    docker = os.environ.get("DOCKYARD_DOCKER") or shutil.which("docker") or "/usr/bin/docker"
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        if os.environ.get("CI") == "true":  # CI installs it (scripts/setup.sh): never skip there
            pytest.fail("the docker compose plugin is not installed")
        pytest.skip("the docker compose plugin is not installed")
    return docker


def test_compose_fails_when_compose_config_rejects_the_stack(project: Path) -> None:
    docker = _docker_with_compose()
    (project / "dockyard.toml").write_text("[services.redis]\n")
    (project / ".env").write_text("NOT A VALID LINE=1\n")
    ran = run_dockyard("-C", str(project), "compose", env={"DOCKYARD_DOCKER": docker})
    assert ran.code == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    error, hint = ran.stderr.strip().splitlines()[-2:]
    assert error.startswith("error: docker compose config rejects the stack: ")
    assert "key cannot contain a space" in error
    assert hint == ("hint: fix what it names (a line of .env, or dockyard.toml), then run "
                    "`dockyard compose` again")


def test_init_refuses_when_the_spec_lives_in_pyproject(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[project]\nname='p'\nversion='1'\n[tool.dockyard.services.postgres]\n")
    assert_user_error(["-C", str(project), "init"], project,
                      "this project's spec is in pyproject.toml [tool.dockyard]; a dockyard.toml "
                      "would take its place",
                      "edit [tool.dockyard] in pyproject.toml, or move that table to "
                      "dockyard.toml yourself")


def test_invalid_extra_requirement_is_a_spec_error(project: Path) -> None:
    (project / "dockyard.toml").write_text('[dependencies]\nextra = ["pyarrow>=>15"]\n')
    assert_user_error(["-C", str(project), "inspect"], project,
                      'dockyard.toml: dependencies.extra.0: expected a requirement such as '
                      '"pyarrow>=15" (PEP 508), got "pyarrow>=>15"', SPEC_HINT)


def test_pyproject_tool_that_is_not_a_table(project: Path) -> None:
    (project / "pyproject.toml").write_text('tool = "x"\n[project]\nname="p"\nversion="1"\n')
    assert_user_error(["-C", str(project), "inspect"], project,
                      'pyproject.toml: tool: expected a table, got "x"',
                      "make `tool` a table ([tool.<name>] sections), or remove it")
    (project / "pyproject.toml").write_text('[project]\nname="p"\nversion="1"\n'
                                            '[tool]\ndockyard = 3\n')
    assert_user_error(["-C", str(project), "inspect"], project,
                      "pyproject.toml [tool.dockyard]: tool.dockyard: expected a table, got 3",
                      "write the spec as a [tool.dockyard] table, or remove the key")


def test_dockyard_docker_pointing_at_a_missing_file(project: Path) -> None:
    for command in (["build"], ["lab"], ["down"]):
        assert_user_error(["-C", str(project), *command], project,
                          "DOCKYARD_DOCKER='/nonexistent/docker' is not an executable file",
                          "point DOCKYARD_DOCKER at a docker client (e.g. /usr/bin/docker), or "
                          "unset it to search PATH",
                          env={"DOCKYARD_DOCKER": "/nonexistent/docker"})


def test_lock_timeout_is_a_user_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def too_slow(argv: list[str], **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(argv, float(kwargs["timeout"]))  # type: ignore[arg-type]

    monkeypatch.setattr("dockyard.engine.runner.subprocess.run", too_slow)
    with pytest.raises(UserError) as err:
        lock_module.lock(project, load_project(project).spec, None)
    assert err.value.message == ("resolving the dependencies took longer than 900s and was "
                                 "stopped")
    assert err.value.hint.startswith("check that the package index answers")
    assert not (project / "dockyard.lock").exists()
