"""The local service images keep the official images' contracts, checked without Compose.

postgres: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, init scripts, data in
/var/lib/postgresql/data owned by uid 999, `pg_isready`, password auth over TCP. redis: the
`redis-server ARGS` command, data in /data, runs as uid 999. spark: /opt/spark/bin/spark-class.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import docker
from tests.integration.test_stack_support import SPARK_VERSION, service_images


@pytest.fixture
def names(engine: None) -> Iterator[list[str]]:
    service_images()
    created: list[str] = []
    yield created
    for name in created:
        docker("rm", "-f", "-v", name, check=False)


def start(names: list[str], *args: str) -> str:
    name = f"dockyard-test-{uuid.uuid4().hex[:8]}"
    names.append(name)
    docker("run", "-d", "--name", name, "--label", "dev.dockyard.project=image-contract", *args)
    return name


def wait_until(name: str, *probe: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if docker("exec", name, *probe, check=False).returncode == 0:
            return
        time.sleep(0.5)
    logs = docker("logs", name, check=False)
    pytest.fail(f"{' '.join(probe)} never succeeded:\n{logs.stdout}{logs.stderr}")


def test_postgres_follows_the_official_contract(names: list[str], tmp_path: Path) -> None:
    init = tmp_path / "init"
    init.mkdir()
    (init / "01-seed.sql").write_text("CREATE TABLE seeded (x int); INSERT INTO seeded VALUES (7);")
    name = start(names, "-e", "POSTGRES_USER=ana", "-e", "POSTGRES_PASSWORD=s3cret",
                 "-e", "POSTGRES_DB=shop", "-v", f"{init}:/docker-entrypoint-initdb.d:ro",
                 "localhost/dockyard/postgres:15")
    wait_until(name, "pg_isready", "-h", "127.0.0.1", "-U", "ana", "-d", "shop")
    query = ["psql", "-h", "127.0.0.1", "-U", "ana", "-d", "shop", "-tAc"]
    ok = docker("exec", "-e", "PGPASSWORD=s3cret", name, *query, "SELECT x FROM seeded")
    assert ok.stdout.strip() == "7"
    wrong = docker("exec", "-e", "PGPASSWORD=nope", name, *query, "SELECT 1", check=False)
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
    owner = docker("exec", name, "stat", "-c", "%u %a", "/var/lib/postgresql/data/PG_VERSION")
    assert owner.stdout.split()[0] == "999"
    env = docker("inspect", "--format", "{{json .Config.Env}}", name).stdout
    assert "PGDATA=/var/lib/postgresql/data" in env


def test_postgres_refuses_to_start_without_a_password(names: list[str]) -> None:
    name = start(names, "localhost/dockyard/postgres:15")
    deadline = time.monotonic() + 30
    while docker("inspect", "--format", "{{.State.Running}}", name).stdout.strip() == "true":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    logs = docker("logs", name)
    assert "superuser password is not specified" in logs.stderr


def test_redis_follows_the_official_contract(names: list[str]) -> None:
    name = start(names, "localhost/dockyard/redis:7", "redis-server", "--requirepass", "pw")
    wait_until(name, "sh", "-c", "REDISCLI_AUTH=pw redis-cli ping | grep -q PONG")
    assert docker("exec", name, "redis-cli", "GET", "k").stdout.startswith("NOAUTH")
    assert docker("exec", name, "pwd").stdout.strip() == "/data"
    # `docker top` prints the host's view: the server runs as uid 999, not root.
    assert docker("top", name).stdout.splitlines()[1].split()[0] == "999"


def test_spark_has_the_official_layout(names: list[str]) -> None:
    ran = docker("run", "--rm", f"localhost/dockyard/spark:{SPARK_VERSION}", "sh", "-c",
                 "test -x /opt/spark/bin/spark-class && id -u && python3 -c "
                 "'import pyspark; print(pyspark.__version__)' && java -version 2>&1 | head -1")
    uid, version, java = ran.stdout.strip().splitlines()
    assert (uid, version) == ("185", SPARK_VERSION)
    assert "17." in java
