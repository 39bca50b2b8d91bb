"""The dashboard role on the real engine: a Dash app as [services.dashboard], started by
`dockyard up`, healthy by its own check, answering on its published port on the host.

A project of its own (one app file, one requirement) so the image stays small.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.project import ProjectView
from tests.integration.conftest import docker
from tests.integration.test_stack_support import compose_name, free_port, stack_up

APP = '''\
import os

from dash import Dash, html

app = Dash(__name__, title="dockyard-dashboard-test")
app.layout = html.Div("the dashboard answers")

if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8050")))
'''


@pytest.fixture(scope="module")
def dashboard(engine: None, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Path, int, dict[str, object]]]:
    port = free_port()
    root = tmp_path_factory.mktemp("dashboard") / "board"
    root.mkdir()
    (root / "app.py").write_text(APP)
    (root / "requirements.txt").write_text("dash\n")
    (root / "dockyard.toml").write_text(f"[services.dashboard]\nport = {port}\n")
    try:
        with stack_up(root, timeout=1500) as (_, up):
            yield root, port, up
    finally:
        # The image this test built (found by the project's label), not the build cache.
        key = ProjectView.open(root).key
        built = docker("images", "-q", "--filter", f"label=dev.dockyard.project={key}",
                       check=False).stdout.split()
        if built:
            docker("rmi", "-f", *sorted(set(built)), check=False)


def test_the_dashboard_comes_up_healthy_and_answers_on_its_port(
        dashboard: tuple[Path, int, dict[str, object]]) -> None:
    root, port, up = dashboard
    assert up["started"] == ["dashboard"]
    assert up["endpoints"] == {"dashboard": f"http://127.0.0.1:{port}"}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/", timeout=30) as response:
        page = response.read().decode()
    assert response.status == 200
    assert "<title>dockyard-dashboard-test</title>" in page
    rows = [json.loads(line) for line in docker(
        "compose", "--project-name", compose_name(root), "ps", "--format", "json"
    ).stdout.splitlines()]
    assert [(r["Service"], r["State"], r["Health"]) for r in rows] == [
        ("dashboard", "running", "healthy")]
