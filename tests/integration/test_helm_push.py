"""`dockyard helm --push oci://…` against a real registry (Debian's docker-registry, no auth,
plain HTTP on loopback): the chart is linted, packaged and pushed, then pulled back by
helm-python-sdk and compared file by file with what `dockyard helm` wrote. No Docker engine
is needed, only the registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dockyard.engine import helm as engine_helm
from tests.conftest import run_dockyard
from tests.integration.conftest import REGISTRY_BINARY, need_tools, running_registry
from tests.unit.k8s.helpers import copy_case


@pytest.fixture(scope="module")
def chart_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    need_tools(REGISTRY_BINARY)
    with running_registry(tmp_path_factory.mktemp("chart-registry")) as host:
        yield host


def test_chart_pushes_to_a_registry_and_pulls_back(chart_registry: str, tmp_path: Path) -> None:
    root = copy_case("k8s-churn", tmp_path / "churn")
    remote = f"oci://{chart_registry}/charts"
    ran = run_dockyard("-C", str(root), "helm", "--push", remote, "--json")
    assert ran.code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert doc["pushed"]["ref"] == f"{remote}/churn:0.1.0"
    assert doc["pushed"]["digest"].startswith("sha256:")

    pulled = engine_helm.pull(f"{remote}/churn", "0.1.0", tmp_path / "pulled")
    written = root / doc["out"]
    mine = {p.relative_to(written).as_posix(): p.read_text()
            for p in written.rglob("*") if p.is_file()}
    theirs = {p.relative_to(pulled).as_posix(): p.read_text()
              for p in pulled.rglob("*") if p.is_file()}
    # Helm writes Chart.yaml anew when it packages (its own key order, no comments): the
    # metadata must be the same; every other file byte for byte.
    assert yaml.safe_load(theirs.pop("Chart.yaml")) == yaml.safe_load(mine.pop("Chart.yaml"))
    assert theirs == mine


def test_push_to_a_registry_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    root = copy_case("k8s-churn", tmp_path / "churn")
    ran = run_dockyard("-C", str(root), "helm", "--push", "oci://127.0.0.1:9/charts")
    assert ran.code == 1
    lines = ran.stderr.strip().splitlines()
    assert lines[-2].startswith("error: helm push to oci://127.0.0.1:9/charts failed: "), lines
    assert lines[-1].startswith("hint: ")


def test_push_needs_an_oci_reference(tmp_path: Path) -> None:
    root = copy_case("k8s-churn", tmp_path / "churn")
    ran = run_dockyard("-C", str(root), "helm", "--push", "https://example.com/charts")
    assert ran.code == 1
    assert "is not an OCI registry reference" in ran.stderr
    assert not (root / "helm").exists()  # refused before writing anything


def test_push_to_a_registry_with_a_login_uses_helms_stored_credentials(
        tmp_path: Path) -> None:
    """An htpasswd registry: refused before a login, pushed after `helm registry login`
    (done here through the SDK into a private HELM_REGISTRY_CONFIG)."""
    import subprocess

    import helm_python

    need_tools(REGISTRY_BINARY, "htpasswd")
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(subprocess.run(["htpasswd", "-Bbn", "charts", "chart-pw-41"],
                                       check=True, capture_output=True, text=True).stdout)
    (tmp_path / "registry").mkdir()
    root = copy_case("k8s-churn", tmp_path / "churn")
    config = tmp_path / "helm" / "registry.json"
    env = {"HELM_REGISTRY_CONFIG": str(config)}
    with running_registry(tmp_path / "registry", htpasswd) as host:
        remote = f"oci://{host}/charts"
        denied = run_dockyard("-C", str(root), "helm", "--push", remote, env=env)
        assert denied.code == 1
        assert denied.stderr.strip().splitlines()[-2].startswith(
            f"error: helm push to {remote} failed: ")
        client = helm_python.RegistryClient(plain_http=True, credentials_file=config)
        try:
            client.login(host, "charts", "chart-pw-41", plain_http=True)
        finally:
            client.close()
        pushed = run_dockyard("-C", str(root), "helm", "--push", remote, "--json", env=env)
        assert pushed.code == 0, pushed.stderr
        assert json.loads(pushed.stdout)["pushed"]["ref"] == f"{remote}/churn:0.1.0"
