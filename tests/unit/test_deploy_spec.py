"""`[deploy]`: defaults from the project, Kubernetes units as written, and every bad value
named by its key in one line (checked by the commands that read it, before anything is written).
"""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.errors import SpecError
from dockyard.spec.deploy import (
    Amounts,
    Autoscaling,
    DeploySpec,
    GpuDeploy,
    Ingress,
    Toleration,
    k8s_name,
    resolve_deploy,
)
from dockyard.spec.load import parse_spec


def deploy(table: dict[str, Any], *, gpu: bool = False, workers: int = 0,
           project: str = "churn") -> DeploySpec:
    user = parse_spec({"deploy": table}, "dockyard.toml")
    return resolve_deploy(user.deploy, project, gpu=gpu, serve_workers=workers,
                          file="dockyard.toml")


def error(table: dict[str, Any], **kw: Any) -> str:
    with pytest.raises(SpecError) as caught:
        deploy(table, **kw)
    return caught.value.message


def test_defaults_without_a_deploy_section() -> None:
    assert deploy({}) == DeploySpec(
        name="churn", namespace="churn", registry="", replicas=2, local_replicas=1,
        autoscaling=Autoscaling(True, 2, 10, 70, 0),
        requests=Amounts("250m", "512Mi"), limits=Amounts("1", "1Gi"),
        gpu=GpuDeploy(), ingress=Ingress())


def test_every_knob_as_written() -> None:
    got = deploy({
        "name": "churn-api", "namespace": "ml-prod", "registry": "registry.example.com:5000/ml",
        "replicas": 3, "autoscaling": {"min": 3, "max": 50, "cpu": 60, "memory": 80},
        "resources": {"requests": {"cpu": 0.5, "memory": "1Gi"},
                      "limits": {"cpu": "2", "memory": "4Gi"}},
        "gpu": {"count": 2, "vendor": "amd", "node_selector": {"pool": "gpu"},
                "tolerations": [{"key": "gpu", "operator": "Equal", "value": "yes",
                                 "effect": "NoExecute"}]},
        "ingress": {"host": "churn.example.com", "class": "nginx", "tls_secret": "churn-tls"},
    })
    assert got == DeploySpec(
        name="churn-api", namespace="ml-prod", registry="registry.example.com:5000/ml",
        replicas=3, local_replicas=3, autoscaling=Autoscaling(True, 3, 50, 60, 80),
        requests=Amounts("0.5", "1Gi"), limits=Amounts("2", "4Gi"),
        gpu=GpuDeploy(2, "amd", "amd.com/gpu", (("pool", "gpu"),),
                      (Toleration("gpu", "Equal", "yes", "NoExecute"),)),
        ingress=Ingress("churn.example.com", "nginx", "churn-tls"))


def test_gpu_defaults_follow_the_project_and_vendor() -> None:
    got = deploy({}, gpu=True).gpu
    assert got == GpuDeploy(1, "nvidia", "nvidia.com/gpu", (("nvidia.com/gpu.present", "true"),),
                            (Toleration("nvidia.com/gpu", "Exists", "", "NoSchedule"),))
    assert deploy({"gpu": {"count": 0}}, gpu=True).gpu.count == 0  # opted out on the cluster


def test_defaults_from_serve_and_a_request_never_above_its_default_limit() -> None:
    assert deploy({}, workers=4).limits == Amounts("4", "1Gi")  # one core per server worker
    got = deploy({"resources": {"requests": {"cpu": "3", "memory": "2Gi"}}})
    assert got.limits == Amounts("3", "2Gi")  # a default limit rises to the request


def test_name_from_an_untidy_project_name() -> None:
    assert k8s_name("My_Churn.Model") == "my-churn-model"
    assert k8s_name("_x") == "x"
    assert len(k8s_name("a" * 80)) == 40


@pytest.mark.parametrize(("table", "message"), [
    ({"autoscaling": {"min": 5, "max": 3}},
     "deploy.autoscaling.max: 3 is below the minimum of 5 replicas"),
    ({"replicas": 4, "autoscaling": {"max": 3}},
     "deploy.autoscaling.max: 3 is below the minimum of 4 replicas (deploy.replicas)"),
    ({"resources": {"limits": {"cpu": "-1"}}},
     'deploy.resources.limits.cpu: expected a positive CPU amount such as "500m" or "2", '
     'got "-1"'),
    ({"resources": {"requests": {"memory": "0Mi"}}},
     'deploy.resources.requests.memory: expected a positive memory size such as "512Mi" or '
     '"2Gi", got "0Mi"'),
    ({"resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}},
     "deploy.resources.requests.memory: 2Gi is above the limit 1Gi"),
    ({"gpu": {"vendor": "matrox", "count": 1}},
     'deploy.gpu.vendor: unknown GPU vendor "matrox" (known: nvidia, amd, intel)'),
    ({"namespace": "Team_ML"},
     "deploy.namespace: expected a DNS-1123 label: lowercase letters, digits and '-', starting "
     'and ending with a letter or digit, at most 40 characters, got "Team_ML"'),
    ({"name": "churn-"}, 'deploy.name: expected a DNS-1123 label'),
    ({"registry": "https://registry.example.com"}, "deploy.registry: expected a registry"),
    ({"replicas": 0}, "deploy.replicas: input should be greater than or equal to 1, got 0"),
    ({"ingress": {"tls_secret": "tls"}}, "deploy.ingress.tls_secret: needs deploy.ingress.host"),
    ({"gpu": {"count": 1, "vendr": "amd"}}, "unknown key 'deploy.gpu.vendr'"),
])
def test_bad_values_name_their_key(table: dict[str, Any], message: str) -> None:
    assert error(table).startswith(f"dockyard.toml: {message}")
