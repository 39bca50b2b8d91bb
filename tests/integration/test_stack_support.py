"""Shared by the stack tests (no tests here): the test project, service images, cleanup.

Every stack test project has the same requirements, so the project's image is built once and
then comes from BuildKit's cache; only the folder-specific layers are rebuilt. The service
images are built once per session by `dockyard base --services`, as a user would.
"""

from __future__ import annotations

import contextlib
import functools
import json
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat

from dockyard.project import ProjectView
from dockyard.spec.stack import compose_project_name
from tests.conftest import run_dockyard
from tests.integration.conftest import DOCKER, docker

SERVICES = "postgres,redis,mlflow,spark"
# Local images only: the tests must not depend on a registry, nor on what else is cached here.
ENV = {"DOCKYARD_SERVICE_IMAGES": "local", "DOCKYARD_DOCKER": DOCKER}
SPARK_VERSION = "3.5.7"

REQUIREMENTS = f"""\
psycopg[binary]>=3.1
redis>=5
pyspark=={SPARK_VERSION}
"""
FILES = {
    "requirements.txt": REQUIREMENTS,
    # The Spark driver runs in the lab: it needs a JVM, like the workers.
    "apt.txt": "default-jre-headless\n",
    "cache_predictor.py": '''\
import os

import redis


class CachedValue:
    """Answers with a value cached in the stack's redis (found through REDIS_URL only)."""

    def setup(self) -> None:
        self.redis = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
        self.redis.ping()

    def predict(self, key: str) -> str:
        return self.redis.get(f"cache:{key}") or ""
''',
    "spark_job.py": '''\
import json
import os
import socket

from pyspark.sql import SparkSession

# A small job: few shuffle partitions and no UI keep it quick on a small worker.
spark = (SparkSession.builder.master(os.environ["SPARK_MASTER_URL"]).appName("dockyard-test")
         .config("spark.executor.memory", "512m").config("spark.sql.shuffle.partitions", "2")
         .config("spark.ui.enabled", "false").getOrCreate())
total = spark.range(1, 1001).selectExpr("sum(id) AS total").collect()[0]["total"]
rdd = spark.sparkContext.parallelize(range(8), 4)
hosts = sorted(set(rdd.map(lambda _: socket.gethostname()).collect()))
squares = rdd.map(lambda x: x * x).sum()
spark.stop()
print(json.dumps({"total": total, "squares": squares, "executor_hosts": hosts,
                  "driver_host": socket.gethostname()}))
''',
    "mlflow_log.py": '''\
import json
import os
import time
import urllib.error
import urllib.request

BASE = os.environ["MLFLOW_TRACKING_URI"]
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(path, body):
    request = urllib.request.Request(f"{BASE}/api/2.0/mlflow/{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with OPENER.open(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


now = int(time.time() * 1000)
experiment = call("experiments/create", {"name": f"stack-test-{now}"})["experiment_id"]
run = call("runs/create", {"experiment_id": experiment, "start_time": now})["run"]["info"]
call("runs/log-metric", {"run_id": run["run_id"], "key": "rmse", "value": 0.25,
                         "timestamp": now, "step": 0})
# Artifacts go through the server (mlflow-artifacts:/…), which stores them where it was told.
where = run["artifact_uri"].split(":/", 1)[1].lstrip("/")
upload = urllib.request.Request(f"{BASE}/api/2.0/mlflow-artifacts/artifacts/{where}/notes.txt",
                                b"trained in the stack", method="PUT")
OPENER.open(upload, timeout=30).close()
print(json.dumps({"experiment_id": experiment, "run_id": run["run_id"], "artifacts": where}))
''',
}
STORE_CELLS = [
    "import os\nimport psycopg\nimport redis",
    "with psycopg.connect(os.environ['DATABASE_URL']) as conn:\n"
    "    conn.execute('CREATE TABLE IF NOT EXISTS scores (name text PRIMARY KEY, value int)')\n"
    "    conn.execute(\"INSERT INTO scores VALUES ('notebook', 42) ON CONFLICT (name) "
    "DO UPDATE SET value = 42\")\n"
    "print('wrote scores')",
    "r = redis.Redis.from_url(os.environ['REDIS_URL'])\nr.set('notebook:key', 'hello')\n"
    "print(r.get('notebook:key'))",
]


def write_project(root: Path, toml: str, extra: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True)
    for rel, text in {**FILES, **(extra or {}), "dockyard.toml": toml}.items():
        (root / rel).write_text(text)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in STORE_CELLS]
    nbformat.write(nb, root / "store.ipynb")
    (root / "data").mkdir()
    (root / "data" / "readme.txt").write_text("the data folder, shared by the stack\n")
    return root


def compose_name(root: Path) -> str:
    return compose_project_name(ProjectView.open(root).key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@functools.cache
def service_images() -> dict[str, object]:
    """`dockyard base --services …` once per session (BuildKit makes a rerun cheap)."""
    ran = run_dockyard("base", "--services", SERVICES, "--json", env=ENV, timeout=1800)
    assert ran.code == 0, ran.stderr[-3000:]
    doc: dict[str, object] = json.loads(ran.stdout)
    return doc


def dockyard(root: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    ran = run_dockyard("-C", str(root), *args, env=ENV, timeout=timeout)
    return subprocess.CompletedProcess(args, ran.code, ran.stdout, ran.stderr)


@contextlib.contextmanager
def stack_up(root: Path, timeout: float = 1200) -> Iterator[tuple[str, dict[str, object]]]:
    """`dockyard up --detach` on ROOT → (its Compose project, what `up --json` said); the
    stack is removed afterwards, also when the start or a test failed."""
    name = compose_name(root)
    try:
        ran = dockyard(root, "up", "--detach", "--json", timeout=timeout)
        assert ran.returncode == 0, ran.stderr[-4000:]
        yield name, json.loads(ran.stdout)
    finally:
        remove_stack(name)


def compose(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return docker("compose", "--project-name", name, *args, check=check)


def exec_in(name: str, service: str, *command: str) -> subprocess.CompletedProcess[str]:
    return compose(name, "exec", "-T", service, *command, check=False)


def remove_stack(name: str) -> None:
    """Containers, networks and volumes of the compose project, also after a failed test."""
    compose(name, "--profile", "*", "down", "--volumes", "--remove-orphans", "--timeout", "5",
            check=False)
    label = f"label=com.docker.compose.project={name}"
    for kind in ("container", "volume", "network"):
        listed = docker(kind, "ls", "-q", "--filter", label, *(["-a"] if kind == "container"
                                                              else []), check=False).stdout
        if listed.split():
            force = ["-f"] if kind != "network" else []
            docker(kind, "rm", *force, *listed.split(), check=False)


def http(url: str, body: dict[str, object] | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, json.dumps(body).encode() if body else None,
                                     {"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def saved_image_holds(image: str, needles: list[bytes]) -> list[bytes]:
    """Which of these byte strings any layer (or the config) of the image holds."""
    found: set[bytes] = set()
    longest = max(len(n) for n in needles)
    with subprocess.Popen([DOCKER, "save", image], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        tail = b""
        while chunk := proc.stdout.read(1 << 20):
            window = tail + chunk
            found.update(n for n in needles if n in window)
            tail = window[-longest:]
    return sorted(found)
