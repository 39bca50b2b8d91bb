"""`[deploy] replicas` in the Compose stack: the api runs N replicas on a host port range."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.app.context import load_project
from dockyard.app.stack import endpoints, load_stack
from dockyard.engine.fake import FakeEngine
from dockyard.generate.compose import compose_document
from tests.unit.stack.helpers import write_project

TOML = '[serve]\npredictor = "p:P"\n\n[services.api]\nport = 8090\n\n[services.lab]\n'


@pytest.mark.parametrize(("deploy", "replicas", "ports"), [
    ("", 1, "127.0.0.1:8090:8080"),
    ("[deploy]\nreplicas = 3\n", 3, "127.0.0.1:8090-8092:8080"),
])
def test_api_replicas_follow_deploy_replicas(tmp_path: Path, deploy: str, replicas: int,
                                             ports: str) -> None:
    root = write_project(tmp_path / "p", TOML + deploy, {"p.py": "class P: ...\n"})
    stack = load_stack(FakeEngine(), load_project(root))
    doc = compose_document(stack.spec, stack.context)
    api, lab = doc["services"]["api"], doc["services"]["lab"]
    assert api["ports"] == [ports]
    assert api.get("deploy", {}).get("replicas", 1) == replicas
    assert "replicas" not in lab.get("deploy", {})  # only the api scales out
    assert "container_name" not in api
    shown = dict(endpoints(stack))["api"]
    assert shown.startswith("http://127.0.0.1:8090")
    assert ("8092 (3 replicas" in shown) == (replicas == 3)


def test_a_replica_port_range_that_takes_another_services_port_is_refused(
        tmp_path: Path) -> None:
    from dockyard.errors import UserError

    toml = TOML.replace("[services.lab]\n", "[services.lab]\nport = 8091\n")
    root = write_project(tmp_path / "p", toml + "[deploy]\nreplicas = 3\n",
                         {"p.py": "class P: ...\n"})
    with pytest.raises(UserError, match=r"services.api.port: its 3 replicas \(\[deploy\] "
                                        r"replicas\) take ports 8090-8092, and "
                                        r"services.lab.port publishes 8091"):
        load_stack(FakeEngine(), load_project(root))
