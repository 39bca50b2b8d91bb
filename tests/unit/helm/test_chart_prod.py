"""The chart of real projects (the k8s golden cases): default values render the prod overlay's
objects; default and non-default values give objects that validate strictly (Kubernetes 1.30
and the newest schemas), meet the restricted Pod Security Standard and pass checkov; lint is
clean; planted violations are caught; no secret value reaches the chart or what it renders.

The policy checks and checkov's skip list are the Kustomize tests' own (tests/k8s_policy.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.app import helm as app_helm
from dockyard.app import k8s as app_k8s
from dockyard.app.context import load_project
from dockyard.engine import helm as engine_helm
from tests.k8s_policy import (
    checkov_failures,
    kustomize,
    pss_violations,
    resource_violations,
    validate_objects,
)
from tests.unit.k8s.helpers import copy_case, with_gpu, with_storage

Doc = dict[str, Any]
PLANTED = {"POSTGRES_PASSWORD": "pg-planted-9f3e1a", "REDIS_PASSWORD": "redis-planted-77c2d0",
           "MINIO_ROOT_PASSWORD": "minio-planted-4b8e55", "DOCKYARD_API_KEY": "apikey-planted-1d2c"}
# Every knob away from the churn project's own values.
OTHER_VALUES: Doc = {
    "replicaCount": 3,
    "image": {"digest": "sha256:" + "5" * 64},
    "autoscaling": {"enabled": False},
    "resources": {"requests": {"cpu": "1", "memory": "2Gi"},
                  "limits": {"cpu": "4", "memory": "8Gi"}},
    "gpu": {"count": 2},
    "nodeSelector": {"nvidia.com/gpu.present": "true", "pool": "a100"},
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    "ingress": {"enabled": True, "host": "api.example.org", "className": "traefik",
                "tlsSecret": "api-example-org-tls"},
    "storage": {"className": "premium-rwx", "sizes": {"data": "2Ti", "db": "100Gi"}},
}


@dataclass(frozen=True)
class Case:
    root: Path
    chart: Path
    namespace: str
    name: str


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    found = {}
    for name, case in (("churn", "k8s-churn"), ("churn-gpu", "k8s-churn"),
                       ("vision", "k8s-gpu")):
        root = copy_case(case, tmp_path_factory.mktemp("helm") / name)
        if name == "churn-gpu":
            with_storage(with_gpu(root))
        (root / ".env").write_text("".join(f"{k}={v}\n" for k, v in PLANTED.items()))
        project = load_project(root)
        app_k8s.write_layout(project)
        written = app_helm.write_chart(project)
        found[name] = Case(root, root / written.files.folder, project.deploy.namespace,
                           project.deploy.name)
    return found


def rendered(case: Case, values: Doc | None = None) -> list[Doc]:
    out = engine_helm.render(case.chart, values, release=case.name, namespace=case.namespace)
    return [doc for path, text in sorted(out.items()) if not path.endswith("NOTES.txt")
            for doc in yaml.safe_load_all(text) if doc]


def by_key(objs: list[Doc]) -> dict[tuple[str, str], Doc]:
    keyed = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    assert len(keyed) == len(objs)
    return keyed


@pytest.mark.parametrize("name", ["churn", "churn-gpu", "vision"])
def test_default_values_render_the_prod_overlay(cases: dict[str, Case], name: str) -> None:
    case = cases[name]
    overlay = kustomize(case.root / "k8s" / "overlays" / "prod")
    assert by_key(rendered(case)) == by_key(overlay)


def test_other_values_change_the_api_as_asked(cases: dict[str, Case]) -> None:
    objs = by_key(rendered(cases["churn"], OTHER_VALUES))
    api = objs[("Deployment", "churn-api")]
    assert ("HorizontalPodAutoscaler", "churn-api") not in objs
    assert api["spec"]["replicas"] == 3
    pod = api["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == OTHER_VALUES["nodeSelector"]
    assert pod["tolerations"] == OTHER_VALUES["tolerations"]
    container = next(c for c in pod["containers"] if c["name"] == "churn-api")
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"},
                                      "limits": {"cpu": "4", "memory": "8Gi",
                                                 "nvidia.com/gpu": 2}}
    assert container["image"].endswith("/churn-serve@sha256:" + "5" * 64)
    ingress = objs[("Ingress", "churn-api")]["spec"]
    assert ingress["ingressClassName"] == "traefik"
    assert ingress["tls"] == [{"hosts": ["api.example.org"],
                               "secretName": "api-example-org-tls"}]
    data = objs[("PersistentVolumeClaim", "churn-data")]["spec"]
    db = objs[("StatefulSet", "churn-db")]["spec"]["volumeClaimTemplates"][0]["spec"]
    redis = objs[("StatefulSet", "churn-redis")]["spec"]["volumeClaimTemplates"][0]["spec"]
    assert [(s["storageClassName"], s["resources"]["requests"]["storage"])
            for s in (data, db, redis)] == [("premium-rwx", "2Ti"), ("premium-rwx", "100Gi"),
                                            ("premium-rwx", "10Gi")]


def test_ingress_and_autoscaler_can_be_switched_off(cases: dict[str, Case]) -> None:
    objs = by_key(rendered(cases["churn"], {"ingress": {"enabled": False},
                                            "autoscaling": {"enabled": False}}))
    assert {("Ingress", "churn-api"), ("HorizontalPodAutoscaler", "churn-api")}.isdisjoint(objs)
    assert objs[("Deployment", "churn-api")]["spec"]["replicas"] == 2


VARIANTS = [("churn", None), ("churn", OTHER_VALUES), ("churn-gpu", None)]


@pytest.mark.parametrize(("name", "values"), [*VARIANTS, ("vision", None)],
                         ids=["default", "other", "gpu", "vision"])
def test_rendered_objects_are_valid_and_meet_the_restricted_standard(
        cases: dict[str, Case], name: str, values: Doc | None) -> None:
    objs = rendered(cases[name], values)
    assert validate_objects(objs) == []
    assert [v for o in objs for v in pss_violations(o)] == []
    assert [v for o in objs for v in resource_violations(o)] == []


def write_objects(objs: list[Doc], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i, obj in enumerate(objs):
        (folder / f"{i:02d}-{obj['kind'].lower()}.yaml").write_text(yaml.safe_dump(obj))
    return folder


def test_checkov_passes_on_default_and_other_values(cases: dict[str, Case],
                                                    tmp_path: Path) -> None:
    for i, (name, values) in enumerate(VARIANTS):  # one checkov run over the three
        write_objects(rendered(cases[name], values), tmp_path / f"variant-{i}")
    assert checkov_failures(tmp_path) == []


def test_planted_violations_are_caught(cases: dict[str, Case], tmp_path: Path) -> None:
    """A privileged API container and an unknown field, planted in the chart's template."""
    case = cases["churn"]
    chart = tmp_path / "planted"
    chart.mkdir()
    for path in case.chart.rglob("*"):
        if path.is_file():
            target = chart / path.relative_to(case.chart)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
    template = chart / "templates" / "deployment-churn-api.yaml"
    text = template.read_text()
    assert text.count("privileged: false") >= 1
    template.write_text(text.replace("privileged: false", "privileged: true")
                        .replace("  revisionHistoryLimit:", "  revisionHistoryLimt: 1\n"
                                                           "  revisionHistoryLimit:", 1))
    planted = rendered(Case(case.root, chart, case.namespace, case.name))
    api = by_key(planted)[("Deployment", "churn-api")]
    assert any("privileged" in v for v in pss_violations(api))
    assert any("revisionHistoryLimt" in e for e in validate_objects([api]))
    clean = copy.deepcopy(api)
    del clean["spec"]["revisionHistoryLimt"]
    failed = {check for _, check, _ in
              checkov_failures(write_objects([clean], tmp_path / "checkov"))}
    assert "CKV_K8S_16" in failed  # privileged containers


@pytest.mark.parametrize("values", [None, OTHER_VALUES], ids=["default", "other"])
def test_lint_is_clean(cases: dict[str, Case], values: Doc | None) -> None:
    assert engine_helm.lint(cases["churn"].chart, values).problems == ()
    assert engine_helm.lint(cases["churn"].chart, values, kube_version="v1.30.0").problems == ()


def test_no_secret_value_in_the_chart_or_its_render(cases: dict[str, Case]) -> None:
    for case in cases.values():
        texts = [p.read_text() for p in case.chart.rglob("*") if p.is_file()]
        texts += [yaml.safe_dump(o) for o in rendered(case) + rendered(case, OTHER_VALUES)]
        assert [v for v in PLANTED.values() for t in texts if v in t] == []
