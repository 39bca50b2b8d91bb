"""Issue 8 on the real engine: what only a real `docker` can show (volumes, history, ps)."""

from __future__ import annotations

import os
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
