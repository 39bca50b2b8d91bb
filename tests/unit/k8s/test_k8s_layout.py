"""Every layout `dockyard k8s` writes, as `kubectl kustomize` renders it, is valid against the
official schemas (Kubernetes 1.30 and the newest kubernetes-validate carries), passes
checkov's Kubernetes checks and the restricted Pod Security Standard, holds no secret value,
and has GPUs exactly where the spec asks for them.

Layouts: the churn stack (API, dashboard, postgres, redis, minio, MLflow, three steps; its
images pinned by digest), the same with a GPU, the same with `--external`, and a GPU model
server without [services]. Each is written once per module; checkov runs once over all of
them (and over planted violations that it must catch).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.app.context import load_project
from dockyard.app.k8s import write_layout
from tests.conftest import run_dockyard
from tests.k8s_policy import (
    checkov_failures,
    kustomize,
    pss_violations,
    resource_violations,
    validate_objects,
)
from tests.unit.k8s.helpers import copy_case, with_gpu, with_storage

Doc = dict[str, Any]
LAYERS = ("base", "overlays/dev", "overlays/prod")
# Known values in .env: none may reach a manifest.
PLANTED = {"POSTGRES_PASSWORD": "pg-planted-9f3e1a", "REDIS_PASSWORD": "redis-planted-77c2d0",
           "MINIO_ROOT_PASSWORD": "minio-planted-4b8e55", "DOCKYARD_API_KEY": "apikey-planted-1d2c"}


@dataclass(frozen=True)
class Rendered:
    root: Path
    layers: dict[str, list[Doc]]  # layer → objects as kubectl kustomize renders it


VARIANTS = {"churn": ("k8s-churn", []), "churn-gpu": ("k8s-churn", []),
            "churn-external": ("k8s-churn", ["--external"]), "vision": ("k8s-gpu", []),
            "churn-scheduled": ("k8s-churn", [])}
SCHEDULE = "0 3 * * *"  # the [pipeline] schedule (given through the API until the spec has it)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    found = {}
    for name, (case, flags) in VARIANTS.items():
        root = copy_case(case, tmp_path_factory.mktemp("k8s") / name)
        if name == "churn-gpu":
            with_storage(with_gpu(root))
        if name == "vision":  # as after `dockyard push`: checkov wants no mutable tag
            pin(root, "registry.example.com/vision")
        (root / ".env").write_text("".join(f"{k}={v}\n" for k, v in PLANTED.items()))
        if name == "churn-scheduled":
            write_layout(load_project(root), schedule=SCHEDULE)
        else:
            ran = run_dockyard("-C", str(root), "k8s", *flags)
            assert ran.code == 0, ran.stderr
        found[name] = Rendered(root, {layer: kustomize(root / "k8s" / layer)
                                      for layer in LAYERS})
    return found


def pin(root: Path, repo: str) -> None:
    import json

    pushed = {role: {"ref": f"{repo}{suffix}:latest", "digest": f"sha256:{n * 64}",
                     "image_id": "sha256:x"}
              for role, suffix, n in (("project", "", "3"), ("serving", "-serve", "4"))}
    (root / ".dockyard").mkdir(exist_ok=True)
    (root / ".dockyard" / "pushed.json").write_text(json.dumps(pushed))


def all_objects(layouts: dict[str, Rendered]) -> list[tuple[str, Doc]]:
    return [(f"{name}/{layer}", obj) for name, r in layouts.items()
            for layer, objs in r.layers.items() for obj in objs]


def test_every_object_is_valid_for_1_30_and_the_newest_schemas(
        layouts: dict[str, Rendered]) -> None:
    assert validate_objects([obj for _, obj in all_objects(layouts)]) == []


def test_every_pod_meets_the_restricted_pod_security_standard(
        layouts: dict[str, Rendered]) -> None:
    pods = [(where, obj) for where, obj in all_objects(layouts) if list(_pods(obj))]
    assert len(pods) > 20
    assert [v for _, obj in pods for v in pss_violations(obj)] == []
    assert [v for _, obj in pods for v in resource_violations(obj)] == []


def _pods(obj: Doc) -> list[Doc]:
    from tests.k8s_policy import pod_specs

    return [pod for _, pod in pod_specs(obj)]


def planted(objs: list[Doc]) -> list[Doc]:
    """A privileged container and one without a memory limit, in copies of the API."""
    api = copy.deepcopy(next(o for o in objs if o["kind"] == "Deployment"
                             and o["metadata"]["name"].endswith("-api")))
    privileged = copy.deepcopy(api)
    privileged["metadata"]["name"] = "planted-privileged"
    privileged["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "privileged"] = True
    unlimited = copy.deepcopy(api)
    unlimited["metadata"]["name"] = "planted-no-memory-limit"
    del unlimited["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
    return [privileged, unlimited]


def test_the_checks_catch_planted_violations(layouts: dict[str, Rendered]) -> None:
    privileged, unlimited = planted(layouts["churn"].layers["overlays/prod"])
    assert any("privileged" in v for v in pss_violations(privileged))
    assert any("no memory limit" in v for v in resource_violations(unlimited))
    root = copy.deepcopy(privileged)
    root["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = 0
    del root["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsUser"]
    assert any("runAsUser" in v for v in pss_violations(root))
    host = copy.deepcopy(unlimited)
    host["spec"]["template"]["spec"]["volumes"].append({"name": "h", "hostPath": {"path": "/"}})
    host["spec"]["template"]["spec"]["hostNetwork"] = True
    assert {"hostNetwork", "hostPath volume h"} <= {v.split(": ", 1)[1]
                                                   for v in pss_violations(host)}
    typo = copy.deepcopy(unlimited)  # a field no schema has: strict validation refuses it
    typo["spec"]["template"]["spec"]["containers"][0]["imagePullPolicies"] = "Always"
    assert len(validate_objects([typo])) == 2  # 1.30 and the newest


def test_checkov_passes_every_overlay_and_fails_planted_violations(
        layouts: dict[str, Rendered], tmp_path: Path) -> None:
    for name, r in layouts.items():
        for layer in ("overlays/dev", "overlays/prod"):
            folder = tmp_path / f"{name}-{layer.rsplit('/', 1)[-1]}"
            folder.mkdir()
            (folder / "all.yaml").write_text(yaml.safe_dump_all(r.layers[layer]))
    (tmp_path / "planted").mkdir()
    (tmp_path / "planted" / "planted.yaml").write_text(
        yaml.safe_dump_all(planted(layouts["churn"].layers["overlays/prod"])))
    failed = checkov_failures(tmp_path)
    ours = [f for f in failed if "/planted/" not in f[0]]
    assert ours == []
    caught = {(f[1], f[2].split(".")[-1]) for f in failed if "/planted/" in f[0]}
    assert ("CKV_K8S_16", "planted-privileged") in caught  # privileged container
    assert ("CKV_K8S_13", "planted-no-memory-limit") in caught  # memory limit


def test_no_secret_value_is_in_any_file(layouts: dict[str, Rendered]) -> None:
    for r in layouts.values():
        text = "".join(p.read_text() for p in sorted((r.root / "k8s").rglob("*.yaml")))
        assert "secretKeyRef" in text
        assert [v for v in PLANTED.values() if v in text] == []
        assert not any(o["kind"] == "Secret" for objs in r.layers.values() for o in objs)


def _kinds(objs: list[Doc], kind: str) -> dict[str, Doc]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def _gpu_pods(objs: list[Doc]) -> dict[str, Doc]:
    from tests.k8s_policy import containers, pod_specs

    return {where: pod for o in objs for where, pod in pod_specs(o)
            if any("nvidia.com/gpu" in c["resources"]["limits"] for c in containers(pod))}


def test_gpus_only_where_the_spec_asks(layouts: dict[str, Rendered]) -> None:
    plain = layouts["churn"].layers["overlays/prod"]
    assert _gpu_pods(plain) == {}
    text = yaml.safe_dump_all(plain)
    assert "nvidia.com/gpu" not in text and "tolerations" not in text
    assert "nodeSelector" not in text
    for name, count in (("churn-gpu", 1), ("vision", 2)):
        pods = _gpu_pods(layouts[name].layers["overlays/prod"])
        assert {re.sub(r"-[0-9a-f]{8}$", "", key) for key in pods} == {
            f"Deployment/{name.split('-')[0]}-api", f"Job/{name.split('-')[0]}-pipeline"}
        for pod in pods.values():
            assert pod["tolerations"] and pod["nodeSelector"]
            limits = [c["resources"]["limits"] for c in pod["containers"]]
            assert any(x.get("nvidia.com/gpu") == count for x in limits)
    vision = _gpu_pods(layouts["vision"].layers["base"])["Deployment/vision-api"]
    assert vision["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert {"key": "dedicated", "operator": "Equal", "value": "ml",
            "effect": "NoSchedule"} in vision["tolerations"]


def test_overlays_set_namespaces_and_dev_scales_down(layouts: dict[str, Rendered]) -> None:
    r = layouts["churn"]
    prod, dev = r.layers["overlays/prod"], r.layers["overlays/dev"]
    assert {o["metadata"].get("namespace") for o in prod} == {"ml"}
    assert {o["metadata"].get("namespace") for o in dev} == {"ml-dev"}
    assert "churn-api" in _kinds(prod, "Ingress") and not _kinds(dev, "Ingress")
    hpa = _kinds(dev, "HorizontalPodAutoscaler")["churn-api"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 2)
    prod_hpa = _kinds(prod, "HorizontalPodAutoscaler")["churn-api"]["spec"]
    assert (prod_hpa["minReplicas"], prod_hpa["maxReplicas"]) == (2, 6)
    api = _kinds(dev, "Deployment")["churn-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["resources"]["requests"]["cpu"] == "50m"
    assert api["resources"]["limits"] == {"cpu": "2", "memory": "2Gi"}
    images = {c["image"] for o in prod for c in _containers(o)}
    assert "registry.example.com/team/churn-serve@sha256:" + "2" * 64 in images
    assert "registry.example.com/team/churn@sha256:" + "1" * 64 in images
    fixed = _kinds(layouts["vision"].layers["overlays/dev"], "Deployment")["vision-api"]
    assert fixed["spec"]["replicas"] == 1
    assert _kinds(layouts["vision"].layers["base"], "Deployment")["vision-api"]["spec"][
        "replicas"] == 3


def _containers(obj: Doc) -> list[Doc]:
    from tests.k8s_policy import containers, pod_specs

    return [c for _, pod in pod_specs(obj) for c in containers(pod)]


def test_external_leaves_the_data_services_out(layouts: dict[str, Rendered]) -> None:
    ext = layouts["churn-external"].layers["overlays/prod"]
    assert _kinds(ext, "StatefulSet") == {}
    assert set(_kinds(ext, "Deployment")) == {"churn-api", "churn-dashboard", "churn-mlflow"}
    config = _kinds(ext, "ConfigMap")["churn-config"]["data"]
    assert config["PGHOST"] == "churn-db" and config["S3_ENDPOINT_URL"] == "http://churn-minio:9000"
    full = layouts["churn"].layers["overlays/prod"]
    assert set(_kinds(full, "StatefulSet")) == {"churn-db", "churn-redis", "churn-minio"}
    claims = _kinds(full, "StatefulSet")["churn-db"]["spec"]["volumeClaimTemplates"]
    assert claims[0]["spec"]["resources"]["requests"]["storage"] == "10Gi"


def test_storage_sizes_and_class_reach_every_claim(layouts: dict[str, Rendered]) -> None:
    def claims(name: str) -> dict[str, Doc]:
        objs = layouts[name].layers["overlays/prod"]
        found = {n: o["spec"] for n, o in _kinds(objs, "PersistentVolumeClaim").items()}
        for n, o in _kinds(objs, "StatefulSet").items():
            [template] = o["spec"]["volumeClaimTemplates"]
            found[n] = template["spec"]
        return found

    sized = {n: (s.get("storageClassName"), s["resources"]["requests"]["storage"])
             for n, s in claims("churn-gpu").items()}
    assert sized == {"churn-data": ("fast-ssd", "500Gi"), "churn-db": ("fast-ssd", "50Gi"),
                     "churn-redis": ("fast-ssd", "20Gi"), "churn-minio": ("fast-ssd", "20Gi"),
                     "churn-mlflow-data": ("fast-ssd", "20Gi")}
    assert all("storageClassName" not in s and s["resources"]["requests"]["storage"] == "10Gi"
               for s in claims("churn").values())  # the cluster's default class


def test_a_scheduled_pipeline_is_also_a_cron_job(layouts: dict[str, Rendered]) -> None:
    for layer in LAYERS:
        crons = _kinds(layouts["churn-scheduled"].layers[layer], "CronJob")
        assert crons["churn-pipeline"]["spec"]["schedule"] == SCHEDULE
    assert _kinds(layouts["churn"].layers["overlays/prod"], "CronJob") == {}


def test_pipeline_is_one_job_running_steps_in_order(layouts: dict[str, Rendered]) -> None:
    import json

    (name, job), = _kinds(layouts["churn"].layers["overlays/prod"], "Job").items()
    assert re.fullmatch(r"churn-pipeline-[0-9a-f]{8}", name)  # a hash of its spec
    pod = job["spec"]["template"]["spec"]
    order = [c["name"] for c in pod["initContainers"]] + [c["name"] for c in pod["containers"]]
    assert order == ["copy-workspace", "wait-for-services", "prepare", "validate", "train"]
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 1
    # Every step writes in one shared /workspace (an emptyDir the first init container filled
    # from the image), data folders mounted inside it as claims.
    for c in pod["initContainers"][2:] + pod["containers"]:
        paths = [m["mountPath"] for m in c["volumeMounts"]]
        assert paths[0] == "/workspace" and "/workspace/data" in paths, paths
    copy = pod["initContainers"][0]
    assert copy["args"][-2:] == ["/workspace/.", "/writable-workspace"]
    assert copy["volumeMounts"] == [{"name": "scratch-workspace",
                                     "mountPath": "/writable-workspace"}]
    steps = json.loads(job["metadata"]["annotations"]["dockyard.dev/steps"])
    assert [(s["name"], s["after"]) for s in steps] == [
        ("prepare", []), ("validate", ["prepare"]), ("train", ["validate"])]
