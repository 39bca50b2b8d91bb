"""The heavier catalog services on the real engine: Spark, the model server, MLflow.

One stack (postgres, redis, mlflow, spark master + worker, lab, api) serves every test here:
a Spark job submitted from the lab runs on the worker; the api answers /ready once what it
depends on is healthy, and serves a value cached in redis; the lab tracks a run in MLflow,
which keeps it in the stack's postgres.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import docker
from tests.integration.test_stack_support import (
    compose,
    exec_in,
    free_port,
    http,
    saved_image_holds,
    service_images,
    stack_up,
    write_project,
)


@dataclass(frozen=True)
class Stack:
    root: Path
    name: str
    ports: dict[str, int]


@pytest.fixture(scope="module")
def stack(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    service_images()
    ports = {"lab": free_port(), "api": free_port(), "mlflow": free_port()}
    toml = f"""\
[serve]
predictor = "cache_predictor:CachedValue"

[services.postgres]
[services.redis]
[services.mlflow]
port = {ports["mlflow"]}
[services.spark]
publish = false
[services.lab]
port = {ports["lab"]}
[services.api]
port = {ports["api"]}
"""
    root = write_project(tmp_path_factory.mktemp("services") / "fullstack", toml)
    with stack_up(root) as (name, _):
        yield Stack(root, name, ports)


def container(name: str, service: str) -> str:
    return compose(name, "ps", "--all", "-q", service).stdout.split()[0]


def test_spark_job_from_the_lab_runs_on_the_workers(stack: Stack) -> None:
    ran = exec_in(stack.name, "lab", "python", "spark_job.py")
    assert ran.returncode == 0, ran.stderr[-3000:]
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["total"] == 500500 and result["squares"] == sum(x * x for x in range(8))
    worker = docker("inspect", "--format", "{{.Config.Hostname}}",
                    container(stack.name, "spark-worker")).stdout.strip()
    assert result["executor_hosts"] == [worker]
    assert result["driver_host"] != worker


def test_api_is_ready_after_its_dependencies_and_reads_redis(stack: Stack) -> None:
    url = f"http://127.0.0.1:{stack.ports['api']}"
    assert http(f"{url}/ready")[0] == 200
    api = container(stack.name, "api")
    # Compose records the conditions it waited on before starting the container.
    waited = docker("inspect", "--format", "{{index .Config.Labels \"com.docker.compose."
                    "depends_on\"}}", api).stdout
    assert {"redis:service_healthy", "postgres:service_healthy", "mlflow:service_healthy",
            "spark:service_healthy"} <= {",".join(d.split(":")[:2]).replace(",", ":")
                                        for d in waited.strip().split(",")}
    started = {s: docker("inspect", "--format", "{{.State.StartedAt}}",
                         container(stack.name, s)).stdout.strip() for s in ("api", "redis")}
    assert started["api"] > started["redis"]
    cached = exec_in(stack.name, "redis", "sh", "-c", "REDISCLI_AUTH=$(cat /run/secrets/"
                     "redis_password) redis-cli SET cache:answer forty-two")
    assert cached.stdout.strip() == "OK"
    status, body = http(f"{url}/predict", {"instances": [{"key": "answer"}, {"key": "none"}]})
    assert (status, body["predictions"]) == (200, ["forty-two", ""])


def test_mlflow_tracks_runs_in_the_stacks_postgres(stack: Stack) -> None:
    ran = exec_in(stack.name, "lab", "python", "mlflow_log.py")
    assert ran.returncode == 0, ran.stderr[-3000:]
    logged = json.loads(ran.stdout.strip().splitlines()[-1])
    url = f"http://127.0.0.1:{stack.ports['mlflow']}/api/2.0/mlflow/runs/get"
    status, body = http(f"{url}?run_id={logged['run_id']}")
    assert status == 200
    assert body["run"]["data"]["metrics"][0]["key"] == "rmse"
    stored = exec_in(stack.name, "postgres", "psql", "-U", "app", "-d", "mlflow", "-tAc",
                     f"SELECT count(*) FROM runs WHERE run_uuid = '{logged['run_id']}'")
    assert stored.stdout.strip() == "1"
    # No object store in this stack: the artifacts are in mlflow's own volume.
    kept = exec_in(stack.name, "mlflow", "cat", f"/mlflow/artifacts/{logged['artifacts']}/"
                   "notes.txt")
    assert kept.stdout == "trained in the stack"
    volumes = {m["Name"] for m in json.loads(docker("inspect", "--format", "{{json .Mounts}}",
                                                    container(stack.name, "mlflow")).stdout)}
    assert volumes == {f"{stack.name}_mlflow-data"}


def test_serving_image_holds_no_password(stack: Stack) -> None:
    from dockyard.app.envfile import parse_env

    secrets = [v.encode() for k, v in parse_env((stack.root / ".env").read_text()).items()
               if "PASSWORD" in k or "TOKEN" in k]
    image = docker("inspect", "--format", "{{.Config.Image}}", container(stack.name, "api"))
    control = b"CachedValue"  # the predictor's source is in the image: the scan sees it
    assert saved_image_holds(image.stdout.strip(), [control, *secrets]) == [control]
