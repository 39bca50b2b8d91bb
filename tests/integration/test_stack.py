"""A stack of lab + postgres + redis on the real engine, from the local service images.

The notebook runs in the lab container and finds the database and the cache through the
injected settings only; `down` keeps the volumes (the data survives an `up`), `down --volumes`
deletes them and says which. The file itself: schema-valid, accepted by Compose, loopback
ports, and no password in it or in an image.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

from dockyard.app.envfile import parse_env
from tests.integration.conftest import docker
from tests.integration.test_stack_support import (
    compose,
    dockyard,
    exec_in,
    free_port,
    saved_image_holds,
    service_images,
    stack_up,
    write_project,
)

SCHEMA = Path(__file__).resolve().parents[1] / "unit" / "stack" / "compose-spec.json"


@dataclass(frozen=True)
class RunningStack:
    root: Path
    name: str
    lab_port: int
    up: dict[str, object]


@pytest.fixture(scope="module")
def lab_stack(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    service_images()
    lab_port = free_port()
    toml = f"[services.postgres]\n[services.redis]\n[services.lab]\nport = {lab_port}\n"
    root = write_project(tmp_path_factory.mktemp("stack") / "labstack", toml)
    with stack_up(root) as (name, up):
        yield RunningStack(root, name, lab_port, up)


def states(name: str) -> dict[str, dict[str, object]]:
    out = compose(name, "ps", "--all", "--format", "json").stdout
    return {row["Service"]: row for row in map(json.loads, out.splitlines())}


def test_stack_comes_up_healthy(lab_stack: RunningStack) -> None:
    assert lab_stack.up["project"] == lab_stack.name
    assert sorted(lab_stack.up["started"]) == ["lab", "postgres", "redis"]
    rows = states(lab_stack.name)
    assert {s: (r["State"], r["Health"]) for s, r in rows.items()} == {
        s: ("running", "healthy") for s in ("lab", "postgres", "redis")}
    images = {s: r["Image"] for s, r in rows.items()}
    assert images["postgres"] == "localhost/dockyard/postgres:15"
    assert images["redis"] == "localhost/dockyard/redis:7"
    listed = dockyard(lab_stack.root, "stack", "ps", "--json")
    assert {r["service"]: r["health"] for r in json.loads(listed.stdout)["services"]} == {
        "lab": "healthy", "postgres": "healthy", "redis": "healthy"}


def test_notebook_in_the_lab_writes_to_postgres_and_redis(lab_stack: RunningStack) -> None:
    ran = exec_in(lab_stack.name, "lab", "python3", "/opt/dockyard/runtime/run_notebook.py",
                  "store.ipynb", "store.executed.ipynb", "--timeout", "300")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (lab_stack.root / "store.executed.ipynb").exists()  # on the host: project mounted
    assert read_back(lab_stack) == ("42", "hello")


def read_back(stack: RunningStack) -> tuple[str, str]:
    """The notebook's writes, read with the services' own clients, not through the lab."""
    pg = exec_in(stack.name, "postgres", "psql", "-U", "app", "-d", "labstack", "-tAc",
                 "SELECT value FROM scores WHERE name = 'notebook'")
    redis = exec_in(stack.name, "redis", "sh", "-c", "REDISCLI_AUTH=$(cat /run/secrets/"
                    "redis_password) redis-cli GET notebook:key")
    return pg.stdout.strip(), redis.stdout.strip()


def test_lab_answers_with_its_token_on_loopback(lab_stack: RunningStack) -> None:
    import urllib.request

    token = parse_env((lab_stack.root / ".env").read_text())["JUPYTER_TOKEN"]
    assert f"?token={token}" in str(lab_stack.up["endpoints"]["lab"])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    url = f"http://127.0.0.1:{lab_stack.lab_port}/api/status?token={token}"
    with opener.open(url, timeout=10) as response:
        assert response.status == 200
    publishers = [p for r in states(lab_stack.name).values() for p in r["Publishers"] or []
                  if p["PublishedPort"]]
    assert publishers and all(p["URL"] == "127.0.0.1" for p in publishers)


def test_compose_file_is_valid_and_holds_no_password(lab_stack: RunningStack) -> None:
    text = (lab_stack.root / "compose.yaml").read_text()
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(yaml.safe_load(text))
    assert compose(lab_stack.name, "--project-directory", str(lab_stack.root), "config",
                   "--quiet").returncode == 0
    env = lab_stack.root / ".env"
    assert env.stat().st_mode & 0o777 == 0o600
    secrets = [v for k, v in parse_env(env.read_text()).items() if "PASSWORD" in k or "TOKEN" in k]
    assert len(secrets) == 3
    assert not any(secret in text for secret in secrets)
    assert ".env" in (lab_stack.root / ".gitignore").read_text().split()
    # The lab image was built by `up` after .env existed, from the folder that holds it.
    lab_image = states(lab_stack.name)["lab"]["Image"]
    # The notebook's text is in the image (COPY . /workspace/): the scan sees what is there.
    control = b"notebook:key"
    found = saved_image_holds(str(lab_image), [control, *(s.encode() for s in secrets)])
    assert found == [control]
    probe = docker("run", "--rm", "--entrypoint", "sh", str(lab_image), "-c",
                   "test ! -e /workspace/.env && echo absent", check=False)
    assert probe.stdout.strip() == "absent"


def test_down_keeps_the_data_and_down_volumes_deletes_it(lab_stack: RunningStack) -> None:
    exec_in(lab_stack.name, "lab", "python3", "/opt/dockyard/runtime/run_notebook.py",
            "store.ipynb", "store.executed.ipynb", "--timeout", "300")
    down = dockyard(lab_stack.root, "down")
    assert down.returncode == 0, down.stderr
    assert states(lab_stack.name) == {}
    volumes = [f"{lab_stack.name}_{v}" for v in ("data", "postgres-data", "redis-data")]
    assert f"kept volumes: {', '.join(volumes)}" in down.stdout
    up = dockyard(lab_stack.root, "up", "--detach")
    assert up.returncode == 0, up.stderr[-3000:]
    assert read_back(lab_stack) == ("42", "hello")
    gone = dockyard(lab_stack.root, "down", "--volumes")
    assert gone.returncode == 0, gone.stderr
    assert f"deleted volumes: {', '.join(volumes)}" in gone.stdout
    left = docker("volume", "ls", "-q", "--filter",
                  f"label=com.docker.compose.project={lab_stack.name}").stdout.split()
    assert left == []
    assert (lab_stack.root / "data" / "readme.txt").exists()  # a bind: the host's files stay
