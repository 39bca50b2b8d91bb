"""The Kubernetes renderer's choices, one at a time, on the churn project's cluster Workloads."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dockyard.app import k8s
from dockyard.render import kubernetes
from dockyard.render.k8s_pod import NotRenderable, Target, literal
from dockyard.spec.deploy import Autoscaling, Ingress
from dockyard.workload import Mount, User
from tests.k8s_policy import pss_violations, validate_objects
from tests.unit.k8s.helpers import golden_project

Doc = dict[str, Any]


def churn(**target: Any) -> tuple[tuple[Any, ...], Target, list[Doc]]:
    planned = k8s.plan(golden_project("k8s-churn"))
    t = dataclasses.replace(planned.target, **target)
    return planned.cluster.workloads, t, kubernetes.objects(planned.cluster.workloads, t)


def by_kind(objs: list[Doc], kind: str) -> dict[str, Doc]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def test_a_schedule_adds_a_cron_job_running_the_same_job() -> None:
    _, _, objs = churn(schedule="0 3 * * *")
    (job,) = by_kind(objs, "Job").values()
    cron = by_kind(objs, "CronJob")["churn-pipeline"]
    assert cron["spec"]["schedule"] == "0 3 * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["jobTemplate"]["spec"] == job["spec"]
    assert validate_objects([cron]) == [] and pss_violations(cron) == []


def test_no_schedule_no_cron_job() -> None:
    assert by_kind(churn()[2], "CronJob") == {}


def test_autoscaling_disabled_sets_replicas_and_no_autoscaler() -> None:
    workloads, t, _ = churn()
    deploy = dataclasses.replace(t.deploy, autoscaling=Autoscaling(enabled=False), replicas=4)
    objs = kubernetes.objects(workloads, dataclasses.replace(t, deploy=deploy))
    assert by_kind(objs, "HorizontalPodAutoscaler") == {}
    assert by_kind(objs, "Deployment")["churn-api"]["spec"]["replicas"] == 4


def test_the_autoscaler_owns_the_count_when_enabled() -> None:
    objs = churn()[2]
    assert "replicas" not in by_kind(objs, "Deployment")["churn-api"]["spec"]
    metrics = by_kind(objs, "HorizontalPodAutoscaler")["churn-api"]["spec"]["metrics"]
    assert [(m["resource"]["name"], m["resource"]["target"]["averageUtilization"])
            for m in metrics] == [("cpu", 60), ("memory", 80)]


def test_no_host_no_ingress_and_tls_by_secret_name() -> None:
    workloads, t, objs = churn()
    ingress = by_kind(objs, "Ingress")["churn-api"]["spec"]
    assert ingress["tls"] == [{"hosts": ["churn.example.com"], "secretName": "churn-tls"}]
    assert ingress["ingressClassName"] == "nginx"
    bare = dataclasses.replace(t, deploy=dataclasses.replace(t.deploy, ingress=Ingress()))
    assert by_kind(kubernetes.objects(workloads, bare), "Ingress") == {}
    assert all(p.kind != "Ingress" for p in kubernetes.dev_patches(workloads, bare))


def test_the_api_rolls_without_losing_a_ready_pod_and_probes_the_server() -> None:
    api = by_kind(churn()[2], "Deployment")["churn-api"]
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    c = api["spec"]["template"]["spec"]["containers"][0]
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300


def test_literal_dollars_are_escaped_for_kubernetes() -> None:
    assert literal("$(date) $HOME $$") == "$$(date) $$HOME $$$$"


def test_a_host_folder_or_a_root_user_is_refused() -> None:
    workloads, t, _ = churn()
    api = next(w for w in workloads if w.role == "api")
    with pytest.raises(NotRenderable, match="host folder"):
        kubernetes.objects((dataclasses.replace(api, mounts=(Mount(".", "/workspace"),)),), t)
    with pytest.raises(NotRenderable, match="non-root uid"):
        kubernetes.objects((dataclasses.replace(api, user=User(0, 0)),), t)


def test_objects_are_named_after_the_deploy_name_and_labelled() -> None:
    objs = churn()[2]
    assert all(o["metadata"]["name"].startswith("churn") for o in objs)
    labels = by_kind(objs, "StatefulSet")["churn-db"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "dockyard"
    assert labels["app.kubernetes.io/part-of"] == "churn"
    assert labels["dev.dockyard.project"] == "churn"  # not the folder's hash
    assert not any(o["kind"] in ("Namespace", "Secret") for o in objs)


def test_data_services_run_as_their_images_users() -> None:
    sets = by_kind(churn()[2], "StatefulSet")
    uids = {name: s["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
            for name, s in sets.items()}
    assert uids == {"churn-db": 999, "churn-redis": 999, "churn-minio": 1000}
    db = sets["churn-db"]["spec"]["template"]["spec"]
    mounts = {m["mountPath"] for m in db["containers"][0]["volumeMounts"]}
    assert {"/var/run/postgresql", "/tmp", "/run/secrets"} <= mounts
