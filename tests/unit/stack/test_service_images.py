"""Local service images: which image a stack takes, what `base --services` accepts, and the
Dockerfiles kept as package data (hadolint-clean, version substituted, scripts executable)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.app.service_images import choose_image, parse_services
from dockyard.engine.service_images import VERSION_ARGS, _copy_context
from dockyard.errors import UserError
from dockyard.spec.catalog import CATALOG, LOCAL_BUILDS

REPO = Path(__file__).resolve().parents[3]


def test_auto_prefers_what_is_on_this_machine() -> None:
    pg = CATALOG["postgres"]
    assert choose_image(pg, "15", "auto", lambda ref: ref == "postgres:15").image == "postgres:15"
    local = "localhost/dockyard/postgres:15"
    assert choose_image(pg, "15", "auto", lambda ref: ref == local).image == local
    assert choose_image(pg, "15", "auto", lambda ref: False).image == "postgres:15"
    assert choose_image(pg, "15", "local", lambda ref: False).image == local
    # Debian has PostgreSQL 15 only: asking for 16 means the official image, whatever the mode.
    assert choose_image(pg, "16", "local", lambda ref: True).image == "postgres:16"
    assert choose_image(CATALOG["mlflow"], "3.1.0", "official", lambda ref: True).image == \
        "localhost/dockyard/mlflow:3.1.0"
    assert choose_image(CATALOG["minio"], "X", "local", lambda ref: True).image == "minio/minio:X"
    assert choose_image(CATALOG["spark"], "3.5.2", "local", lambda ref: True).image == \
        "localhost/dockyard/spark:3.5.2"


def test_parse_services() -> None:
    assert parse_services("postgres, spark=3.5.5,mlflow") == [
        ("postgres", "15"), ("spark", "3.5.5"), ("mlflow", CATALOG["mlflow"].version)]


@pytest.mark.parametrize(("text", "message"), [
    ("minio", "cannot build a local minio image: no MinIO server can be installed from Debian or "
              "PyPI packages; the stack uses the official minio/minio image"),
    ("mongo", "cannot build a local mongo image: unknown service 'mongo'"),
    ("lab", "cannot build a local lab image: unknown service 'lab'"),
    ("postgres=16", "postgres 16 cannot be built from Debian packages (bookworm has postgres 15)"),
])
def test_parse_services_rejects(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_services(text)
    assert caught.value.message == message


@pytest.mark.parametrize("name", LOCAL_BUILDS)
def test_context_has_the_version_and_executable_scripts(name: str, tmp_path: Path) -> None:
    _copy_context(name, tmp_path, VERSION_ARGS[name], "9.9.9")
    dockerfile = (tmp_path / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE" in dockerfile and "# syntax" not in dockerfile
    if name in ("mlflow", "spark"):
        assert "=9.9.9\n" in dockerfile
    for script in tmp_path.iterdir():
        if script.suffix in (".sh", ".py"):
            assert os.access(script, os.X_OK), script.name


@pytest.mark.parametrize("name", LOCAL_BUILDS)
def test_service_dockerfiles_pass_hadolint(name: str, tmp_path: Path) -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    source = REPO / "src" / "dockyard" / "data" / "services" / name / "Dockerfile"
    proc = subprocess.run([hadolint, "--config", str(REPO / ".hadolint.yaml"), str(source)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
