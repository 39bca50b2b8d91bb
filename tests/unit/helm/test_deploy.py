"""`dockyard deploy`'s plan, executed against a recording runner: the kubectl argv in order,
the context and namespace on each, the Secret only ever on stdin; and the plan of --helm."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dockyard.app import deploy
from dockyard.app.context import load_project
from dockyard.engine.fake import FakeRunner
from dockyard.engine.kubectl import Kubectl
from dockyard.errors import UserError
from tests.unit.k8s.helpers import copy_case

ENV = {"POSTGRES_PASSWORD": "pg-secret-31d0", "REDIS_PASSWORD": "redis-secret-9a",
       "MINIO_ROOT_PASSWORD": "minio-secret-7e", "DOCKYARD_API_KEY": "key-secret-55",
       "UNRELATED": "not-for-the-cluster"}
APPLY = ("apply", "--server-side", "--field-manager=dockyard", "--force-conflicts", "-f", "-")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_case("k8s-churn", tmp_path / "churn")


def run(root: Path, *, helm: bool = False, context: str = "kind-dev", namespace: str = "",
        env: dict[str, str] | None = None) -> tuple[FakeRunner, deploy.DeployPlan, list[str]]:
    _project, plan = deploy.plan_project(load_project(root), context=context,
                                        namespace=namespace, helm=helm, timeout=120)
    runner = FakeRunner()
    installed: list[str] = []

    def install(p: deploy.DeployPlan) -> str:
        installed.append(f"{p.name} {p.path} {p.namespace} {p.context}")
        return "installed"

    actions = deploy.Actions(lambda: ["written"], install, lambda: dict(env or ENV))
    deploy.execute(plan, Kubectl(runner, "kubectl", context), actions)
    return runner, plan, installed


def test_kustomize_plan_runs_in_order_with_context_and_namespace(root: Path) -> None:
    runner, plan, installed = run(root)
    args = [call.args for call in runner.calls]
    ctx = ("--context", "kind-dev")
    assert args[:4] == [
        (*ctx, "version", "-o", "json", "--request-timeout=10s"),
        (*ctx, *APPLY),
        (*ctx, "-n", "ml", *APPLY),
        (*ctx, "apply", "-k", str(root / "k8s" / "overlays" / "prod")),
    ]
    waits = args[4:]
    assert (*ctx, "-n", "ml", "rollout", "status", "deployment/churn-api",
            "--timeout=120s") in waits
    assert all(a[:4] == (*ctx, "-n", "ml") and a[4:6] == ("rollout", "status") for a in waits)
    assert len(waits) == len(plan.rollouts) and installed == []


def test_secret_goes_on_stdin_only_with_the_keys_the_pods_read(root: Path) -> None:
    runner, plan, _ = run(root)
    argv_text = " ".join(a for call in runner.calls for a in call.args)
    assert not [v for v in ENV.values() if v in argv_text]
    namespace_doc = yaml.safe_load(runner.calls[1].input_text or "")
    assert (namespace_doc["kind"], namespace_doc["metadata"]["name"]) == ("Namespace", "ml")
    secret = yaml.safe_load(runner.calls[2].input_text or "")
    assert (secret["kind"], secret["metadata"]) == ("Secret", {
        "name": "churn-secrets", "namespace": "ml",
        "labels": {"app.kubernetes.io/part-of": "churn",
                   "app.kubernetes.io/managed-by": "dockyard"}})
    assert set(secret["data"]) == set(plan.secret_keys) <= set(ENV) - {"UNRELATED"}
    assert "POSTGRES_PASSWORD" in secret["data"]


def test_namespace_flag_moves_every_step(root: Path) -> None:
    runner, plan, _ = run(root, namespace="ml-staging", context="")
    assert plan.namespace == "ml-staging"
    assert all("--context" not in call.args for call in runner.calls)
    assert yaml.safe_load(runner.calls[1].input_text or "")["metadata"]["name"] == "ml-staging"
    namespaced = [c.args for c in runner.calls[2:] if c.args[:1] == ("-n",)]
    assert namespaced and all(a[1] == "ml-staging" for a in namespaced)


def test_helm_plan_installs_the_chart_instead_of_apply(root: Path) -> None:
    runner, plan, installed = run(root, helm=True)
    assert installed == ["churn helm/churn ml kind-dev"]
    assert not any("-k" in call.args for call in runner.calls)
    kinds = [s.kind for s in plan.steps]
    assert kinds[:5] == ["kubectl", "generate", "kubectl", "kubectl", "helm"]


def test_a_missing_secret_value_stops_before_anything_is_applied(root: Path) -> None:
    with pytest.raises(UserError, match="no value for POSTGRES_PASSWORD"):
        run(root, env={k: v for k, v in ENV.items() if k != "POSTGRES_PASSWORD"})


def test_dry_run_shows_stdin_never_values(root: Path) -> None:
    _, plan = deploy.plan_project(load_project(root), context="kind-dev")
    kubectl = Kubectl(FakeRunner(), "kubectl", "kind-dev")
    shown = [s.shown(kubectl) for s in plan.steps]
    assert shown[0] == "kubectl --context kind-dev version -o json --request-timeout=10s"
    assert shown[3].endswith("< Secret churn-secrets (4 keys from .env)")
    assert plan.as_dict(kubectl)["steps"][3]["argv"][:3] == ["kubectl", "--context", "kind-dev"]


def test_bad_namespace_is_refused(root: Path) -> None:
    with pytest.raises(UserError, match="not a DNS-1123 label"):
        deploy.plan_project(load_project(root), namespace="Not_OK")


@pytest.mark.parametrize(("helm", "written"), [(False, "k8s/overlays/prod/kustomization.yaml"),
                                               (True, "helm/churn/values.yaml")])
def test_the_generate_step_writes_what_is_applied(root: Path, helm: bool, written: str) -> None:
    project, plan = deploy.plan_project(load_project(root), helm=helm)
    assert written in deploy.project_actions(project, plan).generate()
    assert deploy.project_actions(project, plan).env() == {}  # no .env in the case
