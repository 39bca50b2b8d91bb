"""The generated DAGs on real Apache Airflow 3, and the Docker one on the real engine.

Airflow lives in its own virtualenv (DOCKYARD_AIRFLOW_PYTHON; scripts/test.sh installs it
under .tools/airflow with the Docker and cncf-kubernetes providers). Each check runs a small
script in that interpreter, which imports the DAG files with Airflow's own DagBag and prints
what Airflow says as JSON: task graphs, task instance states and tries read from the DagRun
that `dag.test()` returns, and the pods the KubernetesPodOperator builds. Nothing here reads
dockyard's own bookkeeping.

The project (prepare → validate → train, train being a notebook with a parameter) is built
once by `dockyard build`; the DAG's steps then run in that image against the local engine.
Locally, a missing Airflow or engine skips with the reason; with CI=true it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import nbformat
import pytest

from tests.conftest import REPO, run_dockyard
from tests.integration.conftest import DOCKER, _cleanup_label, docker
from tests.k8s_policy import kustomize
from tests.kubelet import Node, claim_folder
from tests.unit.render.test_airflow import assert_same_graph, compose_graph
from tests.unit.stack.helpers import document

ENV = {"DOCKYARD_DOCKER": DOCKER}
NAME = f"afpipe-{os.getpid()}"
TOML = f"""\
name = "{NAME}"
[data]
dirs = ["data"]
[pipeline]
retry_delay = 1
[pipeline.steps.prepare]
command = "python prepare.py"
[pipeline.steps.validate]
command = "python validate.py"
after = ["prepare"]
retries = 1
[pipeline.steps.train]
command = ["notebooks/train.ipynb"]
parameters = {{ alpha = 0.5 }}
after = ["validate"]
timeout = "5m"
"""
STEPS = {
    "prepare.py": '''\
import json
import os
import sys
from pathlib import Path

Path("outputs").mkdir(exist_ok=True)
Path("data/rows.csv").write_text("x\\n1\\n2\\n3\\n")
# What only the project's image has: dockyard's notebook runner, and its Python.
Path("outputs/prepare.json").write_text(json.dumps({
    "runner": os.path.exists("/opt/dockyard/runtime/run_notebook.py"),
    "python": sys.version.split()[0], "uid": os.getuid(), "step": os.environ["DOCKYARD_STEP"]}))
print("prepare: wrote data/rows.csv")
''',
    "validate.py": '''\
import sys
from pathlib import Path

with open("outputs/validate-attempts.txt", "a") as attempts:
    attempts.write("attempt\\n")
if not Path("expectations.ok").exists():
    sys.exit("validate: expectation 'rows_are_audited' failed")
print("validate: all expectations met")
''',
}
TRAIN_CELLS = [
    "from pathlib import Path\nimport os\nrows = Path('../data/rows.csv').read_text().split()[1:]",
    "Path('../outputs').mkdir(exist_ok=True)  # a pod of its own has no earlier step's\n"
    "Path('../outputs/model.txt').write_text(\n"
    "    f'alpha={alpha} rows={len(rows)} cwd={os.path.basename(os.getcwd())}\\n')\n"
    "print('trained')",
]

# Runs in Airflow's interpreter: argv = mode, dags folder. Prints one line `RESULT <json>`.
SCRIPT = '''\
import json
import sys

from airflow.dag_processing.dagbag import DagBag

mode, folder = sys.argv[1], sys.argv[2]
bag = DagBag(dag_folder=folder)
result = {"errors": {k: str(v) for k, v in bag.import_errors.items()},
          "dags": {dag_id: {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}
                   for dag_id, dag in bag.dags.items()}}
if mode == "test":
    dag = next(iter(bag.dags.values()))
    run = dag.test()
    result["state"] = str(run.state)
    result["tasks"] = {
        ti.task_id: {"state": str(ti.state), "try_number": ti.try_number,
                     "max_tries": ti.max_tries,
                     "start": ti.start_date.isoformat() if ti.start_date else "",
                     "end": ti.end_date.isoformat() if ti.end_date else ""}
        for ti in run.get_task_instances()}
elif mode == "pods":
    from kubernetes.client import ApiClient

    dag = next(iter(bag.dags.values()))
    result["pods"] = {t.task_id: ApiClient().sanitize_for_serialization(
        t.build_pod_request_obj(dry_run=True)) for t in dag.tasks}
print("RESULT " + json.dumps(result))
'''


@pytest.fixture(scope="session")
def airflow_python() -> str:
    # Where scripts/test.sh installs it (DOCKYARD_TOOLS, else ~/.cache/dockyard/tools).
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    tools = os.environ.get("DOCKYARD_TOOLS") or f"{cache}/dockyard/tools"
    python = os.environ.get("DOCKYARD_AIRFLOW_PYTHON", f"{tools}/airflow/bin/python")
    if not os.access(python, os.X_OK):
        reason = f"no Apache Airflow interpreter at {python} (DOCKYARD_AIRFLOW_PYTHON)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Airflow: {reason}")
        pytest.skip(reason)
    return python


@pytest.fixture(scope="session")
def airflow_env(airflow_python: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One Airflow home (SQLite) for the session, migrated once."""
    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__UNIT_TEST_MODE": "False", "DOCKER_HOST": "unix:///var/run/docker.sock"}
    ran = subprocess.run([airflow_python, "-m", "airflow", "db", "migrate"], env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr[-3000:]
    return env


def airflow(python: str, env: dict[str, str], mode: str, folder: Path,
            extra: dict[str, str] | None = None) -> dict[str, Any]:
    """Run SCRIPT in Airflow's interpreter; the DAG folder is Airflow's dags folder too
    (dag.test() serializes the DAG from its bundle)."""
    ran = subprocess.run([python, "-c", SCRIPT, mode, str(folder)],
                         env={**env, "AIRFLOW__CORE__DAGS_FOLDER": str(folder), **(extra or {})},
                         capture_output=True, text=True, timeout=600, check=False)
    line = next((ln for ln in ran.stdout.splitlines() if ln.startswith("RESULT ")), "")
    assert line, (ran.stdout + ran.stderr)[-4000:]
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    assert result["errors"] == {}, result["errors"]
    return result


@pytest.fixture(scope="module")
def project(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("airflow") / NAME
    (root / "notebooks").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "dockyard.toml").write_text(TOML)
    for rel, text in STEPS.items():
        (root / rel).write_text(text)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell("alpha = 0.1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in TRAIN_CELLS)]
    nbformat.write(nb, root / "notebooks" / "train.ipynb")
    built = run_dockyard("-C", str(root), "build", env=ENV, timeout=1200)
    assert built.code == 0, built.stderr[-3000:]
    try:
        yield root
    finally:
        _cleanup_label(root)
        docker("rmi", f"localhost/dockyard/{NAME}:latest", check=False)


def generate(root: Path, operator: str, out: str) -> Path:
    ran = run_dockyard("-C", str(root), "airflow", "--operator", operator, "--out", out,
                       "--json", env=ENV)
    assert ran.code == 0, ran.stderr
    return root / json.loads(ran.stdout)["file"]


@pytest.fixture(scope="module")
def docker_dags(project: Path) -> Path:
    return generate(project, "docker", "dags").parent


def test_both_dags_import_with_the_pipelines_graph(airflow_python: str,
                                                   airflow_env: dict[str, str],
                                                   project: Path, docker_dags: Path) -> None:
    compose = document(project)
    for folder in (docker_dags, generate(project, "kubernetes", "dags-k8s").parent):
        graph = airflow(airflow_python, airflow_env, "bag", folder)["dags"]
        assert list(graph) == [f"{NAME.replace('-', '_')}_pipeline"]
        upstream = {task: set(ups) for task, ups in next(iter(graph.values())).items()}
        assert_same_graph(compose=compose_graph(compose, set(upstream)), airflow=upstream)
        assert upstream == {"prepare": set(), "validate": {"prepare"}, "train": {"validate"}}


def test_a_failing_validation_stops_training(airflow_python: str, airflow_env: dict[str, str],
                                             project: Path, docker_dags: Path,
                                             tmp_path: Path) -> None:
    # The failure hook: a function of the user's, named in the workers' environment.
    (tmp_path / "alerts.py").write_text(
        "from pathlib import Path\n\n\ndef notify(context):\n"
        f"    with open({str(tmp_path / 'alerts.txt')!r}, 'a') as out:\n"
        "        ti = context['task_instance']\n"
        "        out.write(f'{ti.task_id} try {ti.try_number}\\n')\n")
    result = airflow(airflow_python, airflow_env, "test", docker_dags,
                     {"PYTHONPATH": str(tmp_path), "DOCKYARD_ON_FAILURE": "alerts:notify"})
    tasks = result["tasks"]
    assert result["state"] == "failed"
    assert tasks["prepare"]["state"] == "success"
    assert tasks["validate"]["state"] == "failed"
    # retries = 1 in the spec: two tries, as Airflow counts them.
    assert (tasks["validate"]["try_number"], tasks["validate"]["max_tries"]) == (2, 1)
    assert tasks["train"]["state"] == "upstream_failed"
    assert tasks["train"]["try_number"] == 0  # never started
    assert (project / "outputs" / "validate-attempts.txt").read_text() == "attempt\n" * 2
    assert not (project / "outputs" / "model.txt").exists()
    assert (tmp_path / "alerts.txt").read_text() == "validate try 2\n"  # once, after retrying


def test_the_pipeline_runs_in_order_in_the_project_image(airflow_python: str,
                                                         airflow_env: dict[str, str],
                                                         project: Path,
                                                         docker_dags: Path) -> None:
    (project / "expectations.ok").write_text("audited\n")
    result = airflow(airflow_python, airflow_env, "test", docker_dags)
    tasks = result["tasks"]
    assert result["state"] == "success", tasks
    assert {t: v["state"] for t, v in tasks.items()} == dict.fromkeys(
        ("prepare", "validate", "train"), "success")
    assert tasks["prepare"]["end"] <= tasks["validate"]["start"]
    assert tasks["validate"]["end"] <= tasks["train"]["start"]
    # train is a notebook: run as `dockyard run` runs it, in its folder, with the parameter;
    # its output and the executed copy are on the host.
    assert (project / "outputs" / "model.txt").read_text() == "alpha=0.5 rows=3 cwd=notebooks\n"
    executed = nbformat.read(project / "notebooks" / "train.executed.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    prepared = json.loads((project / "outputs" / "prepare.json").read_text())
    assert prepared["runner"] is True and prepared["step"] == "prepare"
    assert prepared["uid"] == project.stat().st_uid  # the folder's owner


def test_kubernetes_pods_validate_against_the_schemas(airflow_python: str,
                                                      airflow_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    """The richest pipeline we have (secrets, a GPU step, limits, a notebook step): the pods
    the operator builds are valid Kubernetes objects, strictly, at 1.30 and the newest."""

    root = tmp_path / "forecast"
    shutil.copytree(REPO / "tests" / "golden" / "stack-full" / "input", root)
    folder = generate(root, "kubernetes", "dags").parent
    pods = airflow(airflow_python, airflow_env, "pods", folder)["pods"]
    assert set(pods) == {"etl", "validate", "train", "report"}
    for version in ("1.30.0", kubernetes_validate.latest_version()):
        for task, pod in pods.items():
            kubernetes_validate.validate(pod, version, strict=True)  # raises on a problem
            spec = pod["spec"]
            assert spec["securityContext"]["runAsNonRoot"] is True, task
            assert spec["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    train = pods["train"]["spec"]
    assert train["containers"][0]["resources"]["limits"] == {
        "cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "1"}
    assert train["tolerations"][0]["key"] == "nvidia.com/gpu"
    env = {e["name"]: e for e in pods["etl"]["spec"]["containers"][0]["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "forecast-secrets", "key": "POSTGRES_PASSWORD", "optional": False}
    assert env["DATABASE_URL"]["value"] == "postgresql://app:$(POSTGRES_PASSWORD)@db:5432/sales"


def test_kubernetes_pods_write_beside_their_code_and_keep_data(airflow_python: str,
                                                               airflow_env: dict[str, str],
                                                               project: Path,
                                                               tmp_path: Path) -> None:
    """The KubernetesPodOperator's own pods, run on the engine as a kubelet would run them:
    each pod's first container copies the image's project folder into a writable emptyDir,
    so the notebook step (which writes its executed copy and ../outputs beside its code, as
    non-root uid 1000) runs; what prepare writes in the data claim reaches train's pod."""
    folder = generate(project, "kubernetes", "dags-k8s").parent
    pods = airflow(airflow_python, airflow_env, "pods", folder)["pods"]
    claims = {f"{NAME}-data": claim_folder(tmp_path / "claim", 1000)}
    node = Node(DOCKER, [], tmp_path / "node")
    runs = {task: node.run_pod(pods[task]["spec"], claims) for task in ("prepare", "train")}
    for task, run in runs.items():
        assert run.ran == ["copy-workspace", "base"] and not run.failed, (task, run.output)
    assert (claims[f"{NAME}-data"] / "rows.csv").read_text() == "x\n1\n2\n3\n"
    train = runs["train"].volumes["scratch-workspace"]
    assert (train / "outputs" / "model.txt").read_text() == "alpha=0.5 rows=3 cwd=notebooks\n"
    assert (train / "notebooks" / "train.executed.ipynb").is_file()
    assert (train / "outputs" / "model.txt").stat().st_uid == 1000  # the pod's user



def test_the_kubernetes_job_runs_the_steps_in_one_pod_in_order(project: Path,
                                                               tmp_path: Path) -> None:
    """The Kubernetes layout's pipeline Job (`dockyard k8s`, rendered by `kubectl kustomize`),
    its pod run as a kubelet would: the steps are init containers in order, sharing one
    writable copy of the project folder. A failing validation stops the pod before train;
    fixed (and rebuilt), every step runs and hands its files to the next."""
    made = run_dockyard("-C", str(project), "k8s", "--out", "k8s", env=ENV)
    assert made.code == 0, made.stderr
    [job] = [o for o in kustomize(project / "k8s" / "overlays" / "dev") if o["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    claims = {f"{NAME}-data": claim_folder(tmp_path / "claim", 1000)}
    node = Node(DOCKER, [], tmp_path / "node")
    # The image was built before expectations.ok existed: validation fails inside it.
    (project / "expectations.ok").unlink(missing_ok=True)
    failed = node.run_pod(pod, claims)
    assert (failed.ran, failed.failed) == (["copy-workspace", "prepare", "validate"], "validate")
    assert "expectation 'rows_are_audited' failed" in failed.output
    assert (claims[f"{NAME}-data"] / "rows.csv").exists()  # prepare's data stays
    (project / "expectations.ok").write_text("audited\n")
    # What the DockerOperator runs wrote in the shared folder is not baked into the image.
    shutil.rmtree(project / "outputs", ignore_errors=True)
    rebuilt = run_dockyard("-C", str(project), "build", env=ENV, timeout=600)
    assert rebuilt.code == 0, rebuilt.stderr[-2000:]
    done = node.run_pod(pod, claims)
    assert (done.ran, done.failed) == (["copy-workspace", "prepare", "validate", "train"], ""), \
        done.output
    workspace = done.volumes["scratch-workspace"]
    assert (workspace / "outputs" / "model.txt").read_text() == "alpha=0.5 rows=3 cwd=notebooks\n"
    assert (workspace / "notebooks" / "train.executed.ipynb").is_file()
    # One folder for the pod's steps: prepare's outputs are where validate and train ran.
    assert json.loads((workspace / "outputs" / "prepare.json").read_text())["uid"] == 1000
    assert (workspace / "outputs" / "validate-attempts.txt").read_text() == "attempt\n"
