"""helm-python-sdk's errors as dockyard's: one line, the user's when they can fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine import helm
from dockyard.errors import EngineError, UserError


def chart(root: Path, template: str) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("n: 1\n")
    (root / "templates" / "cm.yaml").write_text(template)
    return root


def test_a_template_error_is_the_users_one_line(tmp_path: Path) -> None:
    broken = chart(tmp_path / "demo", "kind: ConfigMap\ndata: {{ .Values.n | nosuchfunc }}\n")
    with pytest.raises(UserError) as caught:
        helm.render(broken, release="demo", namespace="ns")
    assert caught.value.message.startswith("helm could not render the chart: ")
    assert "\n" not in caught.value.message
    assert "nosuchfunc" in caught.value.message


def test_a_missing_chart_is_the_users(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="helm could not render the chart: ") as caught:
        helm.render(tmp_path / "none", release="demo", namespace="ns")
    assert caught.value.hint == "run `dockyard helm` to write the chart"


def test_render_and_lint_a_good_chart(tmp_path: Path) -> None:
    good = chart(tmp_path / "demo", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
                                    "data:\n  n: {{ .Values.n | quote }}\n")
    assert helm.render(good, {"n": 2}, release="demo", namespace="ns") == {
        "demo/templates/cm.yaml": 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n'
                                  'data:\n  n: "2"\n'}
    assert helm.lint(good).problems == ()


def test_an_unreachable_registry_is_an_engine_error(tmp_path: Path) -> None:
    good = chart(tmp_path / "demo", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    archive = helm.package(good, tmp_path)
    with pytest.raises(EngineError, match=r"^helm push to oci://127.0.0.1:9/c failed: "):
        helm.push(archive, "oci://127.0.0.1:9/c")


@pytest.mark.parametrize(("remote", "plain"), [
    ("oci://127.0.0.1:5000/charts", True), ("oci://localhost:5000/c", True),
    ("oci://registry.example.com/charts", False), ("oci://127x.example.com/c", False)])
def test_plain_http_only_on_loopback(remote: str, plain: bool) -> None:
    assert helm.plain_http(remote) is plain


@pytest.mark.parametrize("remote", ["https://example.com/c", "oci://", "registry/charts"])
def test_only_oci_references(remote: str) -> None:
    with pytest.raises(UserError, match="is not an OCI registry reference"):
        helm.check_oci(remote)


def test_upgrade_install_without_a_cluster_is_the_users_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = chart(tmp_path / "demo", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "
        "'https://127.0.0.1:9'}\ncontexts:\n- name: dead\n  context: {cluster: c, user: u}\n"
        "users:\n- name: u\n  user: {token: x}\ncurrent-context: dead\n")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with pytest.raises(UserError) as caught:
        helm.upgrade_install(good, "demo", namespace="ns", context="dead", timeout=10)
    assert caught.value.message.startswith("helm upgrade --install demo failed: kubernetes "
                                           "cluster unreachable")
    assert "\n" not in caught.value.message and caught.value.hint
