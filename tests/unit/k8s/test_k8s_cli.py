"""`dockyard k8s` through the real CLI: bad input gives one `error:` line naming the key, a
`hint:`, exit code 1 and no file written; a user's file is never replaced without --force;
--json lists files and objects; no engine and no kubectl are needed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_dockyard
from tests.unit.k8s.helpers import copy_case

# No engine, and no kubectl on PATH: `dockyard k8s` needs neither.
ISOLATED = {"DOCKER_HOST": "unix:///tmp/dockyard-no-engine.sock", "PATH": "/nonexistent"}
SERVE = '[serve]\npredictor = "model:Predictor"\n'


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


BAD = [
    (SERVE + "[deploy.autoscaling]\nmin = 5\nmax = 3\n",
     "error: dockyard.toml: deploy.autoscaling.max: 3 is below the minimum of 5 replicas"),
    (SERVE + '[deploy.resources.limits]\ncpu = "-1"\n',
     'error: dockyard.toml: deploy.resources.limits.cpu: expected a positive CPU amount such '
     'as "500m" or "2", got "-1"'),
    (SERVE + '[deploy.resources.requests]\nmemory = "-512Mi"\n',
     'error: dockyard.toml: deploy.resources.requests.memory: expected a positive memory size '
     'such as "512Mi" or "2Gi", got "-512Mi"'),
    (SERVE + '[deploy.gpu]\nvendor = "matrox"\n',
     'error: dockyard.toml: deploy.gpu.vendor: unknown GPU vendor "matrox" (known: nvidia, '
     "amd, intel)"),
    (SERVE + '[deploy]\nname = "Churn_API"\n',
     "error: dockyard.toml: deploy.name: expected a DNS-1123 label: lowercase letters, digits "
     "and '-', starting and ending with a letter or digit, at most 40 characters, got "
     '"Churn_API"'),
    (SERVE + '[deploy]\nnamespace = "ml.prod"\n',
     "error: dockyard.toml: deploy.namespace: expected a DNS-1123 label: lowercase letters, "
     "digits and '-', starting and ending with a letter or digit, at most 40 characters, got "
     '"ml.prod"'),
    ('[deploy]\nname = "a-long-project-name-for-the-cluster"\n'
     '[services.feature-store-cache]\nkind = "redis"\n',
     'error: dockyard.toml: services.feature-store-cache: the Kubernetes name '
     '"a-long-project-name-for-the-cluster-feature-store-cache" has 55 characters, more than '
     "52: shorten deploy.name or the name"),
    ('[services.cache-]\nkind = "redis"\n',
     'error: dockyard.toml: services.cache-: "proj-cache-" is not a DNS-1123 label (lowercase '
     "letters, digits and '-', ending with a letter or digit)"),
    ('[pipeline.steps.train-]\ncommand = "python train.py"\n',
     'error: dockyard.toml: pipeline.steps.train-: "train-" cannot name a container (a DNS-1123 '
     "label other than wait-for-services)"),
    (SERVE + '[deploy]\nname = "a-long-project-name-for-the-cluster"\n[data]\n'
             'dirs = ["Raw_Data/sensor-readings"]\n',
     'error: dockyard.toml: data.dirs: the Kubernetes name "a-long-project-name-for-the-cluster-'
     'data-raw-data-sensor-readings" has 65 characters, more than 52: shorten deploy.name or '
     "the name"),
    (SERVE + '[deploy.storage]\nsize = "lots"\n',
     'error: dockyard.toml: deploy.storage.size: expected a positive storage size such as '
     '"10Gi" or "1Ti", got "lots"'),
    (SERVE + '[data]\ndirs = ["data"]\n[deploy.storage]\nsizes = { datasets = "1Ti" }\n',
     'error: dockyard.toml: deploy.storage.sizes.datasets: no data folder or service with a '
     'volume is named "datasets" (known: data)'),
    ("[services.lab]\n",
     "error: nothing of dockyard.toml runs on a cluster (lab left out: the lab stays on your "
     "machine (`dockyard lab`); on a cluster, JupyterHub serves notebooks)"),
    ("[deploy]\nreplicas = 2\n",
     "error: dockyard.toml has nothing to deploy: no [services], no [pipeline] and no model to "
     "serve"),
]


@pytest.mark.parametrize(("toml", "error"), BAD, ids=lambda v: v.splitlines()[-1][:30])
def test_bad_input_is_one_line_and_writes_nothing(project: Path, toml: str, error: str) -> None:
    (project / "dockyard.toml").write_text('name = "proj"\n' + toml)
    before = snapshot(project)
    ran = run_dockyard("-C", str(project), "k8s", env=ISOLATED)
    assert ran.code == 1, ran.stderr
    lines = ran.stderr.splitlines()
    assert lines[0] == error
    assert len(lines) == 2 and lines[1].startswith("hint: ")
    assert "Traceback" not in ran.stderr and ran.stdout == ""
    assert snapshot(project) == before


def test_json_lists_files_and_objects_and_a_rerun_changes_nothing(tmp_path: Path) -> None:
    root = copy_case("k8s-churn", tmp_path / "churn")
    ran = run_dockyard("-C", str(root), "k8s", "--json", env=ISOLATED)
    assert ran.code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert doc["namespace"] == "ml"
    assert {"kind": "HorizontalPodAutoscaler", "name": "churn-api"} in doc["objects"]
    jobs = [o["name"] for o in doc["objects"] if o["kind"] == "Job"]
    assert len(jobs) == 1 and re.fullmatch(r"churn-pipeline-[0-9a-f]{8}", jobs[0])
    assert "k8s/overlays/dev/kustomization.yaml" in doc["files"]
    assert all((root / f).read_text().startswith("# This file is generated by dockyard")
               for f in doc["files"])
    # The MLflow image is dockyard's own build: the warning says to push it.
    assert "dockyard-mlflow:3.17.2" in ran.stderr
    again = json.loads(run_dockyard("-C", str(root), "k8s", "--json", env=ISOLATED).stdout)
    assert again["changed"] == []


def test_a_user_file_is_kept_unless_forced_and_stale_files_go(tmp_path: Path) -> None:
    root = copy_case("k8s-churn", tmp_path / "churn")
    assert run_dockyard("-C", str(root), "k8s", env=ISOLATED).code == 0
    mine = root / "k8s" / "base" / "api-service.yaml"
    mine.write_text("# my own service\n")
    before = snapshot(root)
    ran = run_dockyard("-C", str(root), "k8s", env=ISOLATED)
    assert ran.code == 1
    assert ran.stderr.splitlines()[0] == ("error: k8s/base/api-service.yaml exists and was not "
                                          "generated by dockyard; not overwriting it")
    assert snapshot(root) == before
    assert run_dockyard("-C", str(root), "k8s", "--force", env=ISOLATED).code == 0
    assert "generated by dockyard" in mine.read_text()
    # --external: the data services' files leave base/.
    ran = run_dockyard("-C", str(root), "k8s", "--external", env=ISOLATED)
    assert ran.code == 0, ran.stderr
    assert not (root / "k8s" / "base" / "db-statefulset.yaml").exists()
    assert "removed k8s/base/db-statefulset.yaml" in ran.stdout
    assert "db is not deployed: --external" in ran.stderr


def test_out_folder_and_unpinned_image_warning(tmp_path: Path) -> None:
    root = copy_case("k8s-gpu", tmp_path / "vision")
    ran = run_dockyard("-C", str(root), "k8s", "--out", "deploy/k8s", env=ISOLATED)
    assert ran.code == 0, ran.stderr
    assert (root / "deploy/k8s/overlays/prod/kustomization.yaml").is_file()
    assert "share files only through data folders, and this project declares none" in ran.stderr
    assert ("warning: the serving image is only on this machine: set [deploy] registry and run "
            "`dockyard push --serving` so a cluster can pull it") in ran.stderr
    outside = run_dockyard("-C", str(root), "k8s", "--out", str(tmp_path / "elsewhere"),
                           env=ISOLATED)
    assert outside.code == 1 and "outside the project folder" in outside.stderr


def test_a_folder_without_a_spec_is_told_to_init_first(tmp_path: Path) -> None:
    """A plain project folder (no dockyard.toml): the error does not name a file that is not
    there, and the hint starts with `dockyard init`."""
    root = tmp_path / "plain"
    root.mkdir()
    (root / "train.py").write_text("import pandas\n")
    for command, error, hint in (
            ("k8s", "has nothing to deploy: no [services], no [pipeline] and no model to serve",
             'add [serve] model = "models/model.joblib" (or predictor), or [services.api]'),
            ("airflow", "has no [pipeline.steps]: there is no pipeline to schedule",
             'add e.g. [pipeline.steps.train] with command = "python train.py"')):
        ran = run_dockyard("-C", str(root), command, env=ISOLATED)
        assert ran.code == 1
        assert ran.stderr.splitlines() == [
            f"error: the project (it has no dockyard.toml yet) {error}",
            f"hint: run `dockyard init`, then {hint}"]
    assert sorted(p.name for p in root.iterdir()) == ["train.py"]


@pytest.mark.parametrize(("toml", "service", "error", "hint"), [
    ("[services.cache]\nkind = \"redis\"\n", "redis",
     "--service redis: a cluster runs the official image redis:7, which is not dockyard's to "
     "push", "only images dockyard builds for a cluster (MLflow's) are pushed"),
    ("[services.mlflow]\n", "postgres", "--service postgres: dockyard.toml has no postgres service",
     "add [services.postgres]"),
    ("[services.mlflow]\n", "mlflow", "push needs a reference: REGISTRY/REPO[:TAG]",
     'for example `dockyard push localhost:5000/churn:1.0`, or set [deploy] registry = '
     '"registry.example.com/team" in dockyard.toml'),
])
def test_push_service_says_what_cannot_be_pushed(project: Path, toml: str, service: str,
                                                 error: str, hint: str) -> None:
    """Before any engine is asked: a service the cluster pulls from its vendor, one the stack
    does not have, or no registry to push to."""
    (project / "dockyard.toml").write_text(toml)
    ran = run_dockyard("-C", str(project), "push", "--service", service, env=ISOLATED)
    assert ran.code == 1
    assert ran.stderr.splitlines() == [f"error: {error}", f"hint: {hint}"]
