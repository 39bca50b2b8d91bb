"""The chart generator on a hand-written object list: default values render the objects it
was given; other values render what the renderer would give for those knobs; lint is clean;
the files are golden. Rendering is Helm's own (helm-python-sdk, in process, offline)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.engine import helm as engine_helm
from dockyard.generate.artifacts import MARKER
from dockyard.render import helm
from dockyard.spec.deploy import (
    Amounts,
    DeploySection,
    DeploySpec,
    GpuDeploy,
    Ingress,
    Storage,
    Toleration,
    resolve_deploy,
)
from tests.unit.helm.objects import API_IMAGE, CLAIMS, PROJECT_IMAGE, objects

GOLDEN = Path(__file__).parent / "golden" / "churn"
UPDATE = os.environ.get("DOCKYARD_UPDATE_GOLDEN") == "1"
IMAGES = (helm.ImageValue("image", API_IMAGE), helm.ImageValue("projectImage", PROJECT_IMAGE))


def deploy() -> DeploySpec:
    return resolve_deploy(DeploySection(), "churn", gpu=False, serve_workers=0, file="x")


def other_knobs(d: DeploySpec) -> DeploySpec:
    """Every knob away from its default: GPU on, autoscaling off, Ingress on, other sizes."""
    return replace(
        d, replicas=4, autoscaling=replace(d.autoscaling, enabled=False),
        requests=Amounts("500m", "1Gi"), limits=Amounts("2", "4Gi"),
        gpu=GpuDeploy(2, "nvidia", "nvidia.com/gpu", (("pool", "gpu"),),
                      (Toleration("nvidia.com/gpu", "Exists", "", "NoSchedule"),)),
        ingress=Ingress("churn.example.com", "nginx", "churn-tls"),
        storage=Storage("20Gi", "fast-ssd", (("data", "1Ti"),)))


def chart_of(d: DeploySpec) -> helm.Chart:
    return helm.Chart("churn", "0.1.0", "abababababab", tuple(objects(helm.every_part(d))), d,
                      IMAGES, claims=CLAIMS)


def write(chart: helm.Chart, dest: Path) -> Path:
    for rel, text in helm.chart_files(chart).items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    return dest


def rendered(chart_dir: Path, values: dict[str, Any] | None = None) -> dict[tuple[str, str], Any]:
    out = engine_helm.render(chart_dir, values, release="churn", namespace="churn")
    docs = [doc for path, text in out.items() if not path.endswith("NOTES.txt")
            for doc in yaml.safe_load_all(text) if doc]
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def expected(d: DeploySpec) -> dict[tuple[str, str], Any]:
    docs = objects(d)
    for doc in docs:
        doc["metadata"] = {**doc["metadata"], "namespace": "churn"}
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def test_default_values_render_the_objects_given(tmp_path: Path) -> None:
    assert rendered(write(chart_of(deploy()), tmp_path / "churn")) == expected(deploy())


def test_other_values_render_what_the_renderer_gives_for_them(tmp_path: Path) -> None:
    chart_dir = write(chart_of(deploy()), tmp_path / "churn")
    changed = other_knobs(deploy())
    values = helm.values(chart_of(changed))
    assert rendered(chart_dir, values) == expected(changed)
    # (Not the way back: Helm merges maps into the defaults, so `nodeSelector: {}` given over
    # a default selector keeps it; removing a key takes `key: null`, as with any chart.)


def test_values_cover_every_knob() -> None:
    values = helm.values(chart_of(deploy()))
    assert set(values) >= {"namespace", "replicaCount", "image", "autoscaling", "resources",
                           "gpu", "nodeSelector", "tolerations", "ingress"}
    assert set(values["autoscaling"]) == {"enabled", "minReplicas", "maxReplicas",
                                          "targetCPUUtilizationPercentage",
                                          "targetMemoryUtilizationPercentage"}
    assert set(values["resources"]) == {"requests", "limits"}
    assert set(values["image"]) == {"registry", "repository", "tag", "digest", "pullPolicy"}
    assert set(values["ingress"]) == {"enabled", "host", "className", "tlsSecret"}
    assert set(values["gpu"]) == {"count", "resource"}
    assert values["storage"] == {"className": "", "sizes": {"data": "10Gi", "db": "10Gi"}}


@pytest.mark.parametrize("knobs", [deploy, lambda: other_knobs(deploy())])
def test_lint_is_clean(tmp_path: Path, knobs: Any) -> None:
    chart_dir = write(chart_of(deploy()), tmp_path / "churn")
    report = engine_helm.lint(chart_dir, helm.values(chart_of(knobs())))
    assert report.problems == ()


def test_every_file_says_it_is_generated_and_rendering_twice_is_identical() -> None:
    first, second = helm.chart_files(chart_of(deploy())), helm.chart_files(chart_of(deploy()))
    assert first == second
    assert all(MARKER in text[:400] for text in first.values())


def test_image_reference_split() -> None:
    assert helm.split_ref("localhost/dockyard/churn-serve:latest") == {
        "registry": "localhost/dockyard", "repository": "churn-serve", "tag": "latest",
        "digest": ""}
    assert helm.split_ref("127.0.0.1:5000/churn@sha256:00") == {
        "registry": "127.0.0.1:5000", "repository": "churn", "tag": "", "digest": "sha256:00"}


def test_chart_files_are_golden() -> None:
    files = helm.chart_files(chart_of(deploy()))
    if UPDATE:
        for rel, text in files.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_text(text)
    found = {str(p.relative_to(GOLDEN)): p.read_text() for p in GOLDEN.rglob("*") if p.is_file()}
    assert found == files


@pytest.mark.parametrize(("values", "key"), [
    ({"replicaCount": "three"}, "replicaCount"),
    ({"ingress": {"enabled": True}}, "host"),
    ({"image": {"digest": "latest"}}, "digest"),
    ({"autoscaling": {"enabled": "yes"}}, "enabled"),
])
def test_values_of_the_wrong_shape_are_refused_naming_the_key(
        tmp_path: Path, values: dict[str, Any], key: str) -> None:
    from dockyard.errors import UserError

    chart_dir = write(chart_of(deploy()), tmp_path / "churn")
    with pytest.raises(UserError, match=key) as caught:
        engine_helm.render(chart_dir, values, release="churn", namespace="churn")
    assert "\n" not in caught.value.message


def test_text_that_looks_like_a_template_is_rendered_as_written(tmp_path: Path) -> None:
    d = deploy()
    objs = objects(helm.every_part(d))
    objs[0]["metadata"]["annotations"] = {"note": "{{ .Values.replicaCount }} {{- x }}"}
    chart = helm.Chart("churn", "0.1.0", "a", tuple(objs), d, IMAGES)
    out = rendered(write(chart, tmp_path / "churn"))
    assert out[("ServiceAccount", "churn")]["metadata"]["annotations"] == {
        "note": "{{ .Values.replicaCount }} {{- x }}"}
