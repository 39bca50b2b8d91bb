"""Base images: the air-gapped base builds from Debian packages with today's recipe, a stale
one is found and rebuilt, packages with man-page alternatives install on it, a missing base is
explained, and apt's own error lines reach the terminal."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, run_dockyard
from tests.integration.conftest import docker

BASE = "localhost/dockyard/python:3.11"
# The stale-base test uses the 3.13 base the test above builds, so that rebuilding it leaves
# the 3.11 base (and every build cache on it) that the rest of the suite uses untouched.
STALE_PYTHON = "3.13"
STALE_BASE = f"localhost/dockyard/python:{STALE_PYTHON}"


def _labels(ref: str) -> dict[str, str]:
    out = docker("image", "inspect", "--format", "{{json .Config.Labels}}", ref).stdout
    labels: dict[str, str] = json.loads(out)
    return labels


def _derive(tag: str, *lines: str, base: str = BASE) -> None:
    """An image FROM a base with extra Dockerfile lines, built without any project."""
    dockerfile = "\n".join([f"FROM {base}", *lines]) + "\n"
    subprocess.run([os.environ.get("DOCKYARD_DOCKER", "/usr/bin/docker"), "build", "-q",
                    "-t", tag, "-"], input=dockerfile, text=True, check=True,
                   capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "1"})


def _jre_project(root: Path, python: str = "3.11") -> Path:
    root.mkdir()
    (root / ".python-version").write_text(f"{python}\n")
    (root / "apt.txt").write_text("default-jre-headless\n")  # what every pyspark user has
    (root / "requirements.txt").write_text("")
    (root / "main.py").write_text("print('hello')\n")
    return root


@pytest.mark.parametrize(("python", "suite"), [("3.9", "bullseye"), ("3.13", "trixie")])
def test_other_debian_pythons_build_and_a_pinned_project_builds_on_them(
        engine: None, tmp_path: Path, python: str, suite: str) -> None:
    ran = run_dockyard("base", "--python", python, "--json", timeout=900)
    assert ran.code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    tag = f"localhost/dockyard/python:{python}"
    assert (doc["image"], doc["suite"], doc["state"]) == (tag, suite, "built")
    assert doc["size_bytes"] < 300_000_000
    labels = _labels(tag)
    assert labels["dev.dockyard.base"] == "air-gapped"
    assert labels["dev.dockyard.python"] == python
    project = tmp_path / f"py{python}"
    project.mkdir()
    (project / ".python-version").write_text(f"{python}\n")
    (project / "requirements.txt").write_text("six==1.16.0\n")
    (project / "main.py").write_text(
        "import sys, six\nprint(sys.version_info[:2], six.__version__)\n")
    built = run_dockyard("-C", str(project), "build", "--json")
    assert built.code == 0, built.stderr
    assert json.loads(built.stdout)["base"] == tag
    out = run_dockyard("-C", str(project), "run", "--", "python", "main.py")
    assert out.code == 0, out.stderr
    major, minor = python.split(".")
    assert out.stdout.strip() == f"({major}, {minor}) 1.16.0"
    docker("rmi", json.loads(built.stdout)["image"], check=False)


@pytest.fixture
def stale_base(engine: None) -> Iterator[str]:
    """Make the 3.13 base look built by another recipe; put a good one back afterwards."""
    if docker("image", "inspect", STALE_BASE, check=False).returncode != 0:
        assert run_dockyard("base", "--python", STALE_PYTHON, timeout=900).code == 0
    original = docker("image", "inspect", "--format", "{{.Id}}", STALE_BASE).stdout.strip()
    _derive(STALE_BASE, "LABEL dev.dockyard.recipe=0000000000000000", base=STALE_BASE)
    yield original
    if _labels(STALE_BASE).get("dev.dockyard.recipe") == "0000000000000000":
        docker("tag", original, STALE_BASE)


def test_stale_base_is_reported_rebuilt_by_setup_and_takes_a_jre(
        stale_base: str, tmp_path: Path) -> None:
    doctor = run_dockyard("doctor", "--python", STALE_PYTHON, "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert doctor.code == 1
    assert not checks["base image"]["ok"]
    assert checks["base image"]["detail"] == (f"{STALE_BASE} (air-gapped) is stale: an older "
                                              "recipe built it")
    assert checks["base image"]["remedy"] == (f"rebuild it: `dockyard base --python "
                                              f"{STALE_PYTHON}`")

    setup = subprocess.run(["bash", str(REPO / "scripts/setup.sh")], capture_output=True,
                           text=True, timeout=900, check=False,
                           env={**os.environ, "DOCKYARD_PYTHON": STALE_PYTHON})
    assert setup.returncode == 0, setup.stderr[-2000:]
    assert f"{STALE_BASE} was built by an older recipe: rebuilding it" in setup.stderr
    fresh = run_dockyard("base", "--python", STALE_PYTHON, "--if-stale", "--json")
    assert json.loads(fresh.stdout)["state"] == "fresh"
    new_id = docker("image", "inspect", "--format", "{{.Id}}", STALE_BASE).stdout.strip()
    assert new_id != stale_base

    # OpenJDK's post-install links into /usr/share/man/man1: the old recipe's trap.
    project = _jre_project(tmp_path / "jre", STALE_PYTHON)
    built = run_dockyard("-C", str(project), "build", "--json", timeout=900)
    assert built.code == 0, built.stderr
    assert json.loads(built.stdout)["base"] == STALE_BASE
    java = run_dockyard("-C", str(project), "run", "--no-build", "--", "java", "-version")
    assert java.code == 0, java.stderr
    assert "openjdk version" in java.stderr + java.stdout
    docker("rmi", f"localhost/dockyard/{project.name}:latest", check=False)


def test_a_package_that_fails_to_configure_shows_dpkgs_error(engine: None,
                                                             tmp_path: Path) -> None:
    broken = f"dockyard-test/man-less:s{os.getpid()}"
    _derive(broken, "RUN rm -rf /usr/share/man")  # what the old recipe did
    try:
        project = _jre_project(tmp_path / "jre")
        ran = run_dockyard("-C", str(project), "build", "--base", broken)
        assert ran.code == 1
        lines = ran.stderr.strip().splitlines()
        assert ("  | dpkg: error processing package openjdk-17-jre-headless:amd64 (--configure):"
                in lines)
        assert any(line.startswith("  | update-alternatives: error: error creating symbolic "
                                   "link '/usr/share/man/man1/") for line in lines)
        assert lines[-2].startswith("error: build failed at [runtime 2/")
        assert lines[-2].endswith(": exit code 100")
        assert lines[-1] == (f"hint: the full build log is in {project}/.dockyard/build.log; "
                             "fix the cause and rerun")
        assert "--mount=type=cache" not in ran.stderr  # the RUN line is not echoed
        assert "dpkg: error" in (project / ".dockyard/build.log").read_text()
    finally:
        docker("rmi", "-f", broken, check=False)


def test_missing_base_names_the_command_that_builds_one(engine: None, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import numpy\n")
    ran = run_dockyard("-C", str(tmp_path), "build", "--base", "dockyard-test/nope:1")
    assert ran.code == 1
    assert "Traceback" not in ran.stderr
    assert ran.stderr.strip().splitlines()[-2:] == [
        "error: base image dockyard-test/nope:1 is not on this machine and cannot be pulled",
        "hint: build one without a registry: `dockyard base --python 3.11`",
    ]


def test_missing_base_for_a_python_no_suite_ships_names_what_would_work(
        engine: None, tmp_path: Path) -> None:
    """A Pipfile asking for 3.8: `dockyard base --python 3.8` would refuse, so the hint says
    which versions it can build instead of sending the user there."""
    (tmp_path / "Pipfile").write_text('[packages]\nsix = "*"\n[requires]\npython_version = "3.8"\n')
    ran = run_dockyard("-C", str(tmp_path), "build")
    assert ran.code == 1
    assert ran.stderr.strip().splitlines()[-2:] == [
        "error: base image python:3.8-slim is not on this machine and cannot be pulled",
        'hint: choose 3.9 (set python = "X.Y" in dockyard.toml or .python-version; Debian ships '
        "3.9, 3.11, 3.13, 3.14), or build where a registry serves python:3.8-slim",
    ]


def test_a_base_with_another_python_than_the_project_is_refused(engine: None,
                                                                tmp_path: Path) -> None:
    (tmp_path / ".python-version").write_text("3.13\n")
    (tmp_path / "main.py").write_text("print(1)\n")
    ran = run_dockyard("-C", str(tmp_path), "build", "--base", BASE)
    assert ran.code == 1
    assert ran.stderr.strip().splitlines()[-2:] == [
        f"error: base image {BASE} has Python 3.11, the project asks for 3.13",
        'hint: use a base with Python 3.13, or set python = "3.11" in dockyard.toml',
    ]


def test_doctor_is_green_on_a_set_up_machine(engine: None) -> None:
    ran = run_dockyard("doctor", "--json")
    assert ran.code == 0, ran.stdout
    checks = {c["name"]: c for c in json.loads(ran.stdout)["checks"]}
    for name in ("docker client", "engine", "compose plugin", "base image"):
        assert checks[name]["ok"], checks[name]
    assert "BuildKit" in checks["docker client"]["detail"]
    assert checks["base image"]["detail"].startswith(f"{BASE} (air-gapped, today's recipe)")
