"""A Binder-style repository on the real engine: binder/ wins, postBuild, start, pip.

The project is the golden case `tests/golden/binder/project`: binder/requirements.txt,
binder/postBuild writing a file, binder/start exporting a variable, and an invalid root
environment.yml that Binder (and dockyard) never read.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_dockyard
from tests.integration.conftest import HOST_CA, BuiltProject, _cleanup_label, docker

PROJECT = Path(__file__).resolve().parents[1] / "golden" / "binder" / "project"
TAG = f"dockyard-test/binder:s{os.getpid()}"
# A small pure-Python package no dockyard image ships.
USER_PACKAGE = "cowsay"


@pytest.fixture(scope="module")
def binder(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltProject]:
    root = tmp_path_factory.mktemp("binder") / "binder-repo"
    shutil.copytree(PROJECT, root)
    ran = run_dockyard("-C", str(root), "build", "--tag", TAG, "--json", "--ca-cert", HOST_CA)
    assert ran.code == 0, ran.stderr
    yield BuiltProject(root, TAG, json.loads(ran.stdout))
    _cleanup_label(root)
    docker("rmi", TAG, check=False)


def test_inspect_says_binder_folder_was_used(binder: BuiltProject) -> None:
    ran = run_dockyard("-C", str(binder.root), "inspect", "--json")
    assert ran.code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert doc["environment"]["folder"] == "binder"
    assert [d["source"] for d in doc["dependencies"]] == ["binder/requirements.txt"]
    text = run_dockyard("-C", str(binder.root), "inspect").stdout
    assert "environment  binder/" in text


def test_post_build_ran_as_the_image_user(binder: BuiltProject) -> None:
    probe = docker("run", "--rm", binder.image, "cat", "/home/dockyard/postbuild-ran.txt")
    assert probe.stdout.strip() == "postBuild ran as uid 1000"


def test_start_wraps_run(binder: BuiltProject) -> None:
    ran = run_dockyard("-C", str(binder.root), "run", "--", "sh", "-c",
                       "echo $DOCKYARD_BINDER_GREETING")
    assert ran.code == 0, ran.stderr
    assert ran.stdout.strip().splitlines()[-1] == "hello from binder/start"


def test_pip_is_in_the_venv(binder: BuiltProject) -> None:
    probe = docker("run", "--rm", binder.image, "pip", "--version")
    assert probe.returncode == 0, probe.stderr
    assert "/opt/venv/" in probe.stdout


def test_pip_install_user_works_as_the_image_user(binder: BuiltProject) -> None:
    # Containers reach PyPI only through the host's CA bundle, mounted read-only for pip.
    script = (f"pip install --user --no-cache-dir --quiet {USER_PACKAGE} && "
              f"python -c 'import {USER_PACKAGE}, os; print(os.getuid(), {USER_PACKAGE}.__file__)'")
    probe = docker("run", "--rm", "-v", f"{HOST_CA}:/etc/dockyard-test-ca.pem:ro",
                   "-e", "PIP_CERT=/etc/dockyard-test-ca.pem", binder.image, "sh", "-c", script)
    assert probe.returncode == 0, probe.stderr
    uid, path = probe.stdout.strip().splitlines()[-1].split(" ", 1)
    assert uid == "1000"
    assert path.startswith("/home/dockyard/.local/lib/")
