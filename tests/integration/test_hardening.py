"""Issue 8 on the real engine: what only a real `docker` can show (volumes, history, ps)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_dockyard
from tests.integration.conftest import DOCKER, docker


def test_down_volumes_leaves_a_hand_written_compose_files_volume(engine: None,
                                                                 tmp_path: Path) -> None:
    volume = f"dockyard-test-team-db-{os.getpid()}"
    root = tmp_path / "proj"
    root.mkdir()
    (root / "compose.yaml").write_text(
        "services:\n  db:\n    image: dockyard/python:3.11\n    command: [sleep, '60']\n"
        "    volumes: [pgdata:/data]\n"
        f"volumes:\n  pgdata:\n    name: {volume}\n")
    docker("volume", "create", "--label", "dev.dockyard.test=hardening", volume)
    try:
        ran = run_dockyard("-C", str(root), "down", "--volumes",
                           env={"DOCKYARD_DOCKER": DOCKER})
        assert ran.code == 1
        assert ran.stderr.splitlines()[-2].startswith(
            "error: compose.yaml was not written by dockyard")
        assert ran.stderr.splitlines()[-1].startswith("hint: ")
        assert docker("volume", "inspect", volume, check=False).returncode == 0
    finally:
        docker("volume", "rm", "-f", volume, check=False)


def test_credentialed_index_url_leaves_no_trace_in_the_image(engine: None,
                                                             tmp_path: Path) -> None:
    """An index URL with a token, in requirements.txt as teams write it: the build uses it
    (PyPI ignores the credentials), and neither the history nor any layer holds any part of
    it; the final COPY brings neither .dockyard/ nor the generated Dockerfile."""
    token = secrets.token_hex(16)
    tag = f"dockyard-test/credentials:s{os.getpid()}"
    root = tmp_path / "credproj"
    root.mkdir()
    (root / "requirements.txt").write_text(
        f"--index-url https://build-user:{token}@pypi.org/simple\nsix==1.16.0\n")
    (root / "main.py").write_text("import six\n")
    env = {"DOCKYARD_DOCKER": DOCKER}
    assert run_dockyard("-C", str(root), "generate", env=env).code == 0
    try:
        ran = run_dockyard("-C", str(root), "-v", "build", "--tag", tag, "--json", env=env)
        assert ran.code == 0, ran.stderr[-3000:]
        assert token not in ran.stderr + ran.stdout  # not in the -v build log either
        history = docker("history", "--no-trunc", tag).stdout
        inspect = docker("image", "inspect", tag).stdout
        saved = subprocess.run([DOCKER, "save", tag], capture_output=True, check=True).stdout
        pieces = {token[i:i + 8] for i in range(len(token) - 7)}
        for where, text in (("history", history.encode()), ("inspect", inspect.encode()),
                            ("docker save", saved)):
            assert not any(p.encode() in text for p in pieces), f"part of the token in {where}"
        listing = docker("run", "--rm", "--entrypoint", "ls", tag, "-A", "/workspace").stdout
        names = set(listing.split())
        assert "main.py" in names
        assert not names & {".dockyard", "Dockerfile", "requirements.txt"}, names
        version = docker("run", "--rm", "--entrypoint", "python", tag, "-c",
                         "import six; print(six.__version__)").stdout.strip()
        assert version == "1.16.0"  # installed through the credentialed index
    finally:
        docker("rmi", "-f", tag, check=False)


PREDICTOR = '''\
class Echo:
    def setup(self) -> None:
        pass

    def predict(self, value: str) -> str:
        return value
'''


def _recording_docker(tmp_path: Path) -> tuple[Path, Path]:
    """A docker client that logs its argv (what `ps` shows) before running the real one."""
    log = tmp_path / "argv.log"
    wrapper = tmp_path / "docker"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {DOCKER} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


def test_lab_token_and_serve_key_never_reach_an_argv(engine: None, tmp_path: Path) -> None:
    import json
    import urllib.error
    import urllib.request

    wrapper, log = _recording_docker(tmp_path)
    root = tmp_path / "secretproj"
    root.mkdir()
    (root / "pred.py").write_text(PREDICTOR)
    (root / "requirements.txt").write_text("six==1.16.0\n")
    key = secrets.token_hex(16)
    env = {"DOCKYARD_DOCKER": str(wrapper), "DOCKYARD_API_KEY": key}
    tag = f"dockyard-test/secrets:s{os.getpid()}"
    try:
        built = run_dockyard("-C", str(root), "build", "--tag", tag, env=env)
        assert built.code == 0, built.stderr[-3000:]
        lab = run_dockyard("-C", str(root), "-v", "lab", "--detach", "--json", "--port",
                           str(_free_port()), env=env)
        assert lab.code == 0, lab.stderr[-3000:]
        token = json.loads(lab.stdout)["token"]  # lab answered with it: the value got through
        serve = run_dockyard("-C", str(root), "-v", "serve", "--predictor", "pred:Echo",
                             "--detach", "--json", "--port", str(_free_port()), env=env)
        assert serve.code == 0, serve.stderr[-3000:]
        url = json.loads(serve.stdout)["url"]
        argv_log = log.read_text()
        assert "JUPYTER_TOKEN" in argv_log and "DOCKYARD_API_KEY" in argv_log
        for secret in (token, key):
            assert secret not in argv_log
            assert secret not in lab.stderr + serve.stderr  # -v prints every engine command
        body = json.dumps({"instances": [{"value": "hi"}]}).encode()

        def status(headers: dict[str, str]) -> int:
            request = urllib.request.Request(f"{url}/predict", data=body, method="POST",
                                             headers={"Content-Type": "application/json",
                                                      **headers})
            try:
                with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                        request, timeout=30) as response:
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                return exc.code

        assert status({}) == 401  # the key reached the server by name
        assert status({"X-API-Key": key}) == 200
    finally:
        run_dockyard("-C", str(root), "stop", env={"DOCKYARD_DOCKER": DOCKER})
        for image in (tag, "dockyard/secretproj-serve:latest"):
            docker("rmi", "-f", image, check=False)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_down_volumes_lists_exactly_what_it_deleted(engine: None, tmp_path: Path) -> None:
    import json

    root = tmp_path / "downproj"
    root.mkdir()
    (root / "dockyard.toml").write_text("[services.redis]\n")
    env = {"DOCKYARD_DOCKER": DOCKER, "DOCKYARD_SERVICE_IMAGES": "official"}
    ran = run_dockyard("-C", str(root), "compose", "--json", env=env)
    assert ran.code == 0, ran.stderr
    project = json.loads(ran.stdout)["project"]
    # The volume as Compose would have created it for the stack's redis.
    volume = f"{project}_redis-data"
    docker("volume", "create", "--label", f"com.docker.compose.project={project}",
           "--label", "com.docker.compose.volume=redis-data", volume)
    try:
        kept = run_dockyard("-C", str(root), "down", "--json", env=env)
        assert kept.code == 0, kept.stderr
        assert json.loads(kept.stdout)["kept_volumes"] == [volume]
        gone = run_dockyard("-C", str(root), "down", "--volumes", "--json", env=env)
        assert gone.code == 0, gone.stderr
        doc = json.loads(gone.stdout)
        assert doc["removed_volumes"] == [volume] and doc["kept_volumes"] == []
        assert docker("volume", "inspect", volume, check=False).returncode != 0
    finally:
        docker("volume", "rm", "-f", volume, check=False)


def test_a_comma_in_the_project_path_mounts_that_folder(engine: None, tmp_path: Path) -> None:
    """`--mount` is read as CSV: `we,target=/etc` once split into a second field."""
    root = tmp_path / "we,ird"
    root.mkdir()
    (root / "requirements.txt").write_text("six==1.16.0\n")
    (root / "marker.txt").write_text("mounted from the right folder\n")
    env = {"DOCKYARD_DOCKER": DOCKER}
    tag = f"dockyard-test/comma:s{os.getpid()}"
    try:
        built = run_dockyard("-C", str(root), "build", "--tag", tag, env=env)
        assert built.code == 0, built.stderr[-3000:]
        (root / "marker.txt").write_text("changed on the host after the build\n")
        ran = subprocess.run([sys.executable, "-m", "dockyard", "-C", str(root), "run", "--",
                              "cat", "marker.txt"], capture_output=True, text=True,
                             env={**os.environ, **env}, check=False)
        assert ran.returncode == 0, ran.stderr
        assert ran.stdout == "changed on the host after the build\n"  # the bind, not the image
    finally:
        docker("rmi", "-f", tag, check=False)
