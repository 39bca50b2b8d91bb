"""Bad input: one error line, one hint line, a non-zero exit, no traceback, no file changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_dockyard


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def assert_user_error(args: list[str], root: Path | None, error: str, hint: str,
                      env: dict[str, str] | None = None) -> None:
    before = snapshot(root) if root else {}
    ran = run_dockyard(*args, env=env)
    assert ran.code == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    assert ran.stderr.strip().splitlines()[-2:] == [f"error: {error}", f"hint: {hint}"]
    if root:
        assert snapshot(root) == before


def test_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert_user_error(["-C", str(missing), "inspect"], None,
                      f"project folder {str(missing)!r} does not exist or is not a folder",
                      "pass an existing folder with -C DIR")


def test_malformed_requirements_line(project: Path) -> None:
    (project / "requirements.txt").write_text("pandas\nnumpy>=>1\n")
    for command in (["inspect"], ["generate"], ["init"]):
        assert_user_error(["-C", str(project), *command], project,
                          "requirements.txt:2: cannot parse 'numpy>=>1'",
                          "fix the line or remove it (PEP 508: name[extras] specifier ; marker)")


@pytest.mark.parametrize(("toml", "problem"), [
    ("[lab]\nport = \"8888\"\n", "lab.port: expected an integer, got \"8888\""),
    ("[lab]\nprot = 8888\n", "unknown key 'lab.prot'"),
    ("[servce]\nmodel = 'm.pkl'\n", "unknown key 'servce'"),
    ("python = 3.11\n", "python: expected a string, got 3.11"),
    ("version = 7\n", "version: unsupported spec version 7 (this dockyard reads version 1)"),
])
def test_invalid_spec(project: Path, toml: str, problem: str) -> None:
    (project / "dockyard.toml").write_text(toml)
    assert_user_error(["-C", str(project), "inspect"], project, f"dockyard.toml: {problem}",
                      "fix dockyard.toml, or run `dockyard init --force` to write a fresh one")


def test_invalid_toml_syntax(project: Path) -> None:
    (project / "dockyard.toml").write_text("[lab\nport = 1\n")
    ran = run_dockyard("-C", str(project), "generate")
    assert ran.code == 1
    assert ran.stderr.startswith("error: dockyard.toml: invalid TOML: ")
    assert ran.stderr.strip().splitlines()[-1] == "hint: fix the syntax of dockyard.toml"


def test_spec_in_pyproject_is_checked_too(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[project]\nname='p'\nversion='1'\n[tool.dockyard.build]\nuid = 0\n")
    assert_user_error(["-C", str(project), "inspect"], project,
                      "pyproject.toml [tool.dockyard]: build.uid: input should be greater than "
                      "or equal to 1, got 0",
                      "fix pyproject.toml [tool.dockyard], or run `dockyard init --force` to "
                      "write a fresh one")


def test_unresolvable_package(project: Path) -> None:
    (project / "requirements.txt").write_text("pandas\nthis-package-does-not-exist-dockyard==1.0\n")
    ran = run_dockyard("-C", str(project), "lock")
    assert ran.code == 1
    assert "Traceback" not in ran.stderr
    last = ran.stderr.strip().splitlines()[-2:]
    assert last[0].startswith("error: cannot resolve dependencies: ")
    assert "this-package-does-not-exist-dockyard" in last[0]
    assert last[1] == ("hint: check the package names and versions in your dependency files "
                       "(or exclude one in dockyard.toml [dependencies])")
    assert not (project / "dockyard.lock").exists()


@pytest.mark.parametrize("command", [["build"], ["lab"], ["run", "--", "true"], ["ps"],
                                     ["stop"], ["push", "127.0.0.1:5999/x"]])
def test_stopped_engine(project: Path, command: list[str]) -> None:
    assert_user_error(["-C", str(project), *command], project,
                      "the Docker engine is not running (docker could not connect)",
                      "start the Docker engine, or run `dockyard doctor` to see what is missing",
                      env={"DOCKER_HOST": "unix:///tmp/dockyard-no-engine.sock"})


def test_doctor_reports_stopped_engine(project: Path) -> None:
    ran = run_dockyard("doctor", "--json", env={"DOCKER_HOST": "unix:///tmp/dockyard-no.sock"})
    assert ran.code == 1
    import json

    checks = {c["name"]: c for c in json.loads(ran.stdout)["checks"]}
    assert checks["engine"]["ok"] is False
    assert "dockerd" in checks["engine"]["remedy"]


def test_generate_never_clobbers_a_users_dockerfile(project: Path) -> None:
    (project / "Dockerfile").write_text("FROM scratch\n")
    assert_user_error(["-C", str(project), "generate"], project,
                      "Dockerfile exists and was not generated by dockyard; not overwriting it",
                      "move it away, or pass --force to replace it")
    ran = run_dockyard("-C", str(project), "generate", "--force")
    assert ran.code == 0
    assert "generated by dockyard" in (project / "Dockerfile").read_text()


def test_init_never_overwrites_a_spec(project: Path) -> None:
    assert run_dockyard("-C", str(project), "init").code == 0
    (project / "dockyard.toml").write_text("# mine\nversion = 1\n")
    assert_user_error(["-C", str(project), "init"], project,
                      "dockyard.toml already exists; not overwriting it",
                      "edit it, or pass --force to write a fresh one")


def test_missing_ca_cert(project: Path) -> None:
    assert_user_error(["-C", str(project), "lock", "--ca-cert", "/nonexistent.pem"], project,
                      "CA bundle '/nonexistent.pem' (from --ca-cert) does not exist",
                      "pass an existing PEM file with --ca-cert")


def test_base_for_a_python_no_debian_suite_ships_names_the_nearest() -> None:
    ran = run_dockyard("base", "--python", "3.12")
    assert ran.code == 1
    assert ran.stderr.strip().splitlines() == [
        "error: no air-gapped base for Python 3.12: no Debian suite reachable here ships it",
        'hint: choose 3.11 or 3.13 (set python = "X.Y" in dockyard.toml or .python-version; '
        "Debian ships 3.9, 3.11, 3.13, 3.14), or build where a registry serves "
        "python:3.12-slim",
    ]
