"""`dockyard lab` on the real engine: a token-guarded JupyterLab, published on loopback only.

The module starts one lab for the bundled example and shares it; the last test stops it through
the CLI and starts a second one. Every container is removed in a finalizer, also on failure.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import copy_example, run_dockyard
from tests.integration.conftest import BuiltProject, docker

# Loopback servers must never be reached through a proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_lab(root: Path, port: int) -> dict[str, Any]:
    ran = run_dockyard("-C", str(root), "lab", "--detach", "--port", str(port), "--json",
                       timeout=180)
    assert ran.code == 0, ran.stderr
    assert "Traceback" not in ran.stderr
    session: dict[str, Any] = json.loads(ran.stdout)
    return session


def remove_container(container: str) -> None:
    docker("rm", "-f", container, check=False)


def http_status(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with _DIRECT.open(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def ps_rows() -> list[dict[str, Any]]:
    ran = run_dockyard("ps", "--json")
    assert ran.code == 0, ran.stderr
    rows: list[dict[str, Any]] = json.loads(ran.stdout)["containers"]
    return rows


def non_loopback_ipv4() -> list[str]:
    """This machine's own IPv4 addresses other than loopback (no traffic is sent to find them)."""
    found: set[str] = set()
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, check=False).stdout
        found.update(re.findall(r"\binet (\d+\.\d+\.\d+\.\d+)/", out))
    except FileNotFoundError:
        pass
    if not found:
        try:
            infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
            found.update(str(info[4][0]) for info in infos)
        except OSError:
            pass
    return sorted(a for a in found if not a.startswith("127."))


@pytest.fixture(scope="module")
def lab(example: BuiltProject) -> Iterator[dict[str, Any]]:
    port = free_port()
    session = start_lab(example.root, port)
    yield session
    remove_container(session["container"])
    run_dockyard("-C", str(example.root), "stop")


def test_lab_prints_its_url_and_a_fresh_token(lab: dict[str, Any]) -> None:
    token = lab["token"]
    assert re.fullmatch(r"[0-9a-f]{32,}", token), token
    assert lab["host"] == "127.0.0.1"
    assert lab["url"] == f"http://127.0.0.1:{lab['port']}/lab?token={token}"
    assert lab["name"].endswith("-lab")
    assert re.fullmatch(r"[0-9a-f]{12}", lab["container"])
    assert lab["seconds_to_ready"] > 0


def test_api_answers_only_with_the_token(lab: dict[str, Any]) -> None:
    status_url = f"http://127.0.0.1:{lab['port']}/api/status"
    assert http_status(status_url, lab["token"]) == 200
    assert http_status(status_url) == 403
    assert http_status(status_url, "0" * len(lab["token"])) == 403


def test_port_is_published_on_loopback_only(lab: dict[str, Any]) -> None:
    port = lab["port"]
    bindings = json.loads(docker("inspect", "--format", "{{json .HostConfig.PortBindings}}",
                                 lab["container"]).stdout)
    assert bindings == {"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    published = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Ports}}",
                                  lab["container"]).stdout)
    assert published == {"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert docker("port", lab["container"], "8888/tcp").stdout.split() == [f"127.0.0.1:{port}"]

    # The same port on this machine's other addresses is closed. (When the machine has no
    # address besides loopback, docker inspect above is the whole check.)
    for address in non_loopback_ipv4():
        with pytest.raises((ConnectionRefusedError, TimeoutError)):
            socket.create_connection((address, port), timeout=3).close()


def test_ps_lists_the_lab(lab: dict[str, Any]) -> None:
    rows = [r for r in ps_rows() if r["id"] == lab["container"]]
    assert len(rows) == 1, ps_rows()
    assert rows[0]["role"] == "lab"
    assert rows[0]["name"] == lab["name"]
    assert f"127.0.0.1:{lab['port']}->8888/tcp" in rows[0]["ports"]


def test_a_second_lab_for_the_project_is_refused(example: BuiltProject,
                                                 lab: dict[str, Any]) -> None:
    ran = run_dockyard("-C", str(example.root), "lab", "--detach", "--port", str(free_port()))
    assert ran.code == 1, ran.stderr
    assert ran.stderr.strip().splitlines()[-2:] == [
        f"error: JupyterLab is already running for this project ({lab['name']})",
        f"hint: open its URL again with `docker logs {lab['name']}`, or `dockyard stop` first",
    ]
    assert http_status(f"http://127.0.0.1:{lab['port']}/api/status", lab["token"]) == 200


def test_port_in_use_is_one_error_and_one_hint(example: BuiltProject, lab: dict[str, Any],
                                               tmp_path: Path) -> None:
    other = copy_example("churn", tmp_path)  # another project: no lab of its own running
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ran = run_dockyard("-C", str(other), "lab", "--detach", "--port", str(port), "--json")
    assert ran.code == 1, ran.stderr
    assert "Traceback" not in ran.stderr
    assert ran.stdout == ""
    assert ran.stderr.strip().splitlines()[-2:] == [
        f"error: port {port} is already in use on 127.0.0.1",
        f"hint: pick another one: dockyard lab --port {port + 1}",
    ]
    # The refused start left the running lab alone.
    assert http_status(f"http://127.0.0.1:{lab['port']}/api/status", lab["token"]) == 200


def test_stop_removes_it_and_a_restart_gets_a_new_token(example: BuiltProject,
                                                        lab: dict[str, Any]) -> None:
    """Runs last in this module: it stops the shared lab."""
    ran = run_dockyard("-C", str(example.root), "stop", "--json")
    assert ran.code == 0, ran.stderr
    assert json.loads(ran.stdout) == {"stopped": [lab["name"]]}
    assert not [r for r in ps_rows() if r["id"] == lab["container"] or r["name"] == lab["name"]]
    assert docker("ps", "-aq", "--filter", f"id={lab['container']}").stdout.strip() == ""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", lab["port"]), timeout=3).close()

    second = start_lab(example.root, free_port())
    try:
        assert second["token"] != lab["token"]
        status_url = f"http://127.0.0.1:{second['port']}/api/status"
        assert http_status(status_url, second["token"]) == 200
        assert http_status(status_url, lab["token"]) == 403
    finally:
        remove_container(second["container"])
    assert not [r for r in ps_rows() if r["name"] == second["name"]]
