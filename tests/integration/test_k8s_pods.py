"""The Kubernetes layout's serving stack, its pods run on the engine as a kubelet would.

No cluster runs here (see tests/kubelet.py for what is reproduced). A project with an API,
PostgreSQL and Redis: `dockyard k8s`, rendered by `kubectl kustomize`, gives StatefulSets for
the data services and a Deployment for the API, each under the restricted profile (numeric
non-root user, read-only root, every capability dropped). Run as written, with a Secret of the
test's values: the databases take their passwords from the Secret's files, the API's init
container waits for them by their Service names, and a prediction reaches Redis through the
URL the pod was given, its password expanded from the Secret by Kubernetes' `$(NAME)`.

The data services run dockyard's local builds of postgres:15 and redis:7 (no registry serves
the official ones here), which keep the official images' users, entrypoints and contract.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import DOCKER, _cleanup_label, docker
from tests.integration.test_stack_support import dockyard, free_port, service_images
from tests.k8s_policy import kustomize, pss_violations
from tests.kubelet import Node

PREDICTOR = '''\
import os
import socket
from urllib.parse import urlparse


class Ping:
    """Answers with what Redis said to AUTH and PING, through the URL the pod was given."""

    def predict(self, text: str) -> str:
        url = urlparse(os.environ["REDIS_URL"])
        with socket.create_connection((url.hostname, url.port or 6379), 5) as conn:
            conn.sendall(f"AUTH {url.password}\\r\\nPING\\r\\n".encode())
            reply = b""
            while reply.count(b"\\r\\n") < 2:
                reply += conn.recv(100)
        return reply.decode()
'''
TOML = """\
name = "kubepods"

[serve]
predictor = "ping_predictor:Ping"

[services.db]
kind = "postgres"

[services.redis]

[services.mlflow]

[services.api]
"""
# Asked from inside the API's container: its Service port is not published anywhere.
ASK = """\
import json, sys, urllib.request
request = urllib.request.Request("http://127.0.0.1:8080/predict",
                                 json.dumps({"instances": [{"text": "ping"}]}).encode(),
                                 {"Content-Type": "application/json",
                                  "Authorization": "Bearer " + sys.argv[1]})
print(json.load(urllib.request.urlopen(request, timeout=10))["predictions"][0])
"""
# MLflow's REST API, from the API's pod, at the tracking URI the ConfigMap gave it.
TRACK = """\
import json, os, urllib.request
base = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/experiments/"
def call(path, body):
    request = urllib.request.Request(base + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=20))
call("create", {"name": "from-a-pod"})
found = call("search", {"max_results": 10, "filter": "name = 'from-a-pod'"})
print(found["experiments"][0]["name"])
"""


@dataclass(frozen=True)
class Layout:
    root: Path
    objects: list[dict[str, Any]]


@pytest.fixture(scope="module")
def layout(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Layout]:
    service_images()
    root = tmp_path_factory.mktemp("k8s-pods") / "kubepods"
    root.mkdir()
    (root / "ping_predictor.py").write_text(PREDICTOR)
    (root / "requirements.txt").write_text("")
    (root / "dockyard.toml").write_text(TOML)
    try:
        # The serving image, built as `serve` builds it (then the server is stopped).
        served = dockyard(root, "serve", "--detach", "--port", str(free_port()))
        assert served.returncode == 0, served.stderr[-3000:]
        assert dockyard(root, "stop").returncode == 0
        made = dockyard(root, "k8s", "--json")
        assert made.returncode == 0, made.stderr
        yield Layout(root, kustomize(root / "k8s" / "overlays" / "dev"))
    finally:
        _cleanup_label(root)


def here(image: str) -> str:
    """The image this engine has for a name: dockyard's local build of an official one."""
    if docker("image", "inspect", image, check=False).returncode == 0:
        return image
    return f"localhost/dockyard/{image}"


def test_the_serving_stack_runs_under_the_restricted_profile(layout: Layout,
                                                             tmp_path: Path) -> None:
    workloads = [o for o in layout.objects if o["kind"] in ("Deployment", "StatefulSet")]
    assert sorted(o["metadata"]["name"] for o in workloads) == [
        "kubepods-api", "kubepods-db", "kubepods-mlflow", "kubepods-redis"]
    assert [v for o in workloads for v in pss_violations(o)] == []
    values = {"POSTGRES_PASSWORD": secrets.token_hex(8), "REDIS_PASSWORD": secrets.token_hex(8),
              "DOCKYARD_API_KEY": secrets.token_hex(8)}
    with Node(DOCKER, layout.objects, tmp_path / "node", {"kubepods-secrets": values},
              image=here) as node:
        db = node.start("StatefulSet", "kubepods-db")
        node.start("StatefulSet", "kubepods-redis")
        node.start("Deployment", "kubepods-mlflow")  # its runs in the db
        api = node.start("Deployment", "kubepods-api")  # after waiting for each by name
        # PostgreSQL took its password from the Secret's file (root:999, mode 0440).
        url = f"postgresql://app:{values['POSTGRES_PASSWORD']}@127.0.0.1:5432/kubepods"
        asked = docker("exec", db, "psql", url, "-tAc", "select current_user", check=False)
        assert asked.stdout.strip() == "app", asked.stderr
        # The API (uid 1000, read-only root) reaches Redis by its Service name, with the
        # password Kubernetes expanded into REDIS_URL; without the key it is refused.
        answer = docker("exec", api, "python3", "-c", ASK, values["DOCKYARD_API_KEY"],
                        check=False)
        assert answer.stdout.split() == ["+OK", "+PONG"], answer.stderr[-2000:]
        tracked = docker("exec", api, "python3", "-c", TRACK, check=False)
        assert tracked.stdout.strip() == "from-a-pod", tracked.stderr[-2000:]
        store = url.rsplit("/", 1)[0] + "/mlflow"  # MLflow's own database on the server
        stored = docker("exec", db, "psql", store, "-tAc", "select name from experiments")
        assert "from-a-pod" in stored.stdout.split()
        refused = docker("exec", api, "python3", "-c", ASK, "wrong-key", check=False)
        assert "401" in refused.stderr
        user = docker("exec", api, "id", "-u").stdout.strip()
        written = docker("exec", api, "touch", "/workspace/x", check=False)
        assert (user, written.returncode != 0) == ("1000", True)
        assert json.loads(docker("inspect", api).stdout)[0]["HostConfig"]["ReadonlyRootfs"]
