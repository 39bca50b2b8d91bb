"""Base images: the air-gapped base builds from Debian packages; a missing base is explained."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import run_dockyard
from tests.integration.conftest import docker


def test_missing_base_names_the_command_that_builds_one(engine: None, tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("import numpy\n")
    ran = run_dockyard("-C", str(tmp_path), "build", "--base", "dockyard-test/nope:1")
    assert ran.code == 1
    assert "Traceback" not in ran.stderr
    assert ran.stderr.strip().splitlines()[-2:] == [
        "error: base image dockyard-test/nope:1 is not on this machine and cannot be pulled",
        "hint: build one without a registry: `dockyard base --python 3.11`",
    ]


def test_doctor_is_green_on_a_set_up_machine(engine: None) -> None:
    ran = run_dockyard("doctor", "--json")
    assert ran.code == 0, ran.stdout
    checks = {c["name"]: c for c in json.loads(ran.stdout)["checks"]}
    for name in ("docker client", "engine", "compose plugin", "base image"):
        assert checks[name]["ok"], checks[name]
    assert "BuildKit" in checks["docker client"]["detail"]


def test_air_gapped_base_builds_from_debian_and_runs_python(engine: None) -> None:
    tag = f"dockyard-test/base:s{os.getpid()}"
    try:
        ran = run_dockyard("base", "--python", "3.11", "--tag", tag, "--json", timeout=900)
        assert ran.code == 0, ran.stderr
        doc = json.loads(ran.stdout)
        assert doc["image"] == tag and doc["suite"] == "bookworm"
        assert doc["size_bytes"] < 300_000_000
        probe = docker("run", "--rm", tag, "python3", "-c",
                       "import sys, venv, ssl; print(sys.version_info[:2])")
        assert probe.stdout.strip() == "(3, 11)"
        labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}",
                                   tag).stdout)
        assert labels["dev.dockyard.base"] == "air-gapped"
    finally:
        docker("rmi", tag, check=False)


def test_base_rejects_a_python_debian_does_not_ship(engine: None) -> None:
    ran = run_dockyard("base", "--python", "3.7")
    assert ran.code == 1
    assert ran.stderr.strip().splitlines()[-2:] == [
        "error: no air-gapped base for Python 3.7",
        "hint: choose one of 3.11, 3.13 (Debian's own Python versions)",
    ]
