"""Fixtures on the real Docker engine. Images are built once per session and shared.

Locally these tests skip, saying why, when no engine answers; with CI=true a missing engine
fails the run instead, because CI must never pass by skipping.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_example, run_dockyard

DOCKER = os.environ.get("DOCKYARD_DOCKER", "/usr/bin/docker")
# One tag per test session, so two sessions on one engine never move each other's image.
EXAMPLE_TAG = f"dockyard-test/churn:s{os.getpid()}"
HOST_CA = os.environ.get("DOCKYARD_TEST_CA", "/etc/ssl/certs/ca-certificates.crt")
CA_MARKER = "dockyard-test-ca-marker-5f0c2b7e"


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="session")
def engine() -> None:
    probe = docker("info", "--format", "{{.ServerVersion}}", check=False)
    if probe.returncode != 0:
        reason = f"no Docker engine answers ({probe.stderr.strip()[:120]})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the engine: {reason}")
        pytest.skip(reason)


@dataclass(frozen=True)
class BuiltProject:
    root: Path
    image: str
    build_json: dict[str, object]


def _cleanup_label(project_root: Path) -> None:
    """Remove every container a test project started, found by its dockyard label."""
    out = docker("ps", "-aq", "--filter", "label=dev.dockyard.project", check=False).stdout
    for cid in out.split():
        inspect = docker("inspect", "--format", "{{.Mounts}}", cid, check=False).stdout
        if str(project_root) in inspect:
            docker("rm", "-f", cid, check=False)


@pytest.fixture(scope="session")
def example(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltProject]:
    """The bundled example, with a secret .env added, built once for the whole session."""
    import json

    tmp = tmp_path_factory.mktemp("example")
    root = copy_example("churn", tmp)
    (root / ".env").write_text("SECRET_TOKEN=do-not-ship-me\n")
    # The host's CA bundle plus a marker line (PEM readers skip text between certificates), so
    # a test can prove the bundle reached the build yet entered no layer. --no-cache makes sure
    # the layers that mounted it are built in this session, with this bundle.
    ca = tmp / "ca-bundle.pem"
    ca.write_text(Path(HOST_CA).read_text() + f"\n{CA_MARKER}\n")
    ran = run_dockyard("-C", str(root), "build", "--tag", EXAMPLE_TAG, "--json", "--no-cache",
                       "--ca-cert", str(ca))
    assert ran.code == 0, ran.stderr
    yield BuiltProject(root, EXAMPLE_TAG, json.loads(ran.stdout))
    _cleanup_label(root)
    docker("rmi", EXAMPLE_TAG, check=False)
