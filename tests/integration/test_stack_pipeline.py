"""`dockyard pipeline run`: etl → validate → train → report as one-shot containers ordered by
Compose; report is a notebook step, run as `dockyard run NOTEBOOK -p` runs it.

The steps find postgres through DATABASE_URL. etl fails once and passes on its retry; validate
fails until its check is satisfied, and then train never starts, the exit code is non-zero and
the error names validate with the tail of its log. Fixed, the pipeline completes and train's
output is on the host, and so are the report notebook's (its kernel in its own folder, its
typed parameters injected) and its executed copy; `--from train` reruns train and report alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from tests.integration.conftest import docker
from tests.integration.test_stack_support import (
    compose,
    compose_name,
    dockyard,
    remove_stack,
    service_images,
    write_project,
)

TOML = """\
[services.postgres]

[pipeline.steps.etl]
command = "python etl.py"
retries = 1

[pipeline.steps.validate]
command = "python validate.py"
after = ["etl"]

[pipeline.steps.train]
command = ["python", "train.py"]
after = ["validate"]
memory = "1g"

[pipeline.steps.report]
command = ["notebooks/report.ipynb"]
parameters = { threshold = 100, regions = ["north"] }
after = ["train"]
"""
REPORT_CELLS = [
    ("threshold = 0\nregions = []", ["parameters"]),
    ("import json, os\nfrom pathlib import Path\n"
     "model = json.loads(Path('../outputs/model.json').read_text())\n"
     "Path('../outputs/report.txt').write_text(\n"
     "    f\"{model['total'] > threshold} {regions} {type(threshold).__name__} "
     "{os.path.basename(os.getcwd())}\\n\")", []),
]
STEPS = {
    "etl.py": '''\
import os
from pathlib import Path

import psycopg

Path("outputs").mkdir(exist_ok=True)
with open("outputs/etl-runs.txt", "a") as log:
    log.write("attempt\\n")
flaky = Path("outputs/.etl-failed-once")
if not flaky.exists():  # a transient failure: the step's retry is what gets past it
    flaky.write_text("1")
    raise SystemExit("etl: source not reachable (transient)")
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS sales (day int, amount int)")
    conn.execute("DELETE FROM sales")
    conn.execute("INSERT INTO sales SELECT d, d * 10 FROM generate_series(1, 30) d")
print("etl: loaded 30 rows")
''',
    "validate.py": '''\
import os
import sys
from pathlib import Path

import psycopg

with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    rows = conn.execute("SELECT count(*) FROM sales").fetchone()[0]
print(f"validate: {rows} rows in sales")
if not Path("expectations.ok").exists():
    print("validate: expectation 'amount_is_audited' failed for 30 rows", file=sys.stderr)
    sys.exit(3)
print("validate: all expectations met")
''',
    "train.py": '''\
import json
import os
from pathlib import Path

import psycopg

with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    total = conn.execute("SELECT sum(amount) FROM sales").fetchone()[0]
Path("outputs/model.json").write_text(json.dumps({"total": total,
                                                  "step": os.environ["DOCKYARD_STEP"]}))
print("train: wrote outputs/model.json")
''',
}


@pytest.fixture(scope="module")
def project(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    service_images()
    root = write_project(tmp_path_factory.mktemp("pipeline") / "salesflow", TOML, STEPS)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for source, tags in REPORT_CELLS:
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags}))
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "report.ipynb")
    try:
        yield root
    finally:
        remove_stack(compose_name(root))


def step_state(root: Path, step: str) -> dict[str, object]:
    out = compose(compose_name(root), "ps", "--all", "--format", "json", step).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 1, out
    started = docker("inspect", "--format", "{{.State.StartedAt}}", rows[0]["ID"]).stdout
    return {**rows[0], "StartedAt": started.strip()}


def test_a_failing_step_stops_what_follows(project: Path) -> None:
    ran = dockyard(project, "pipeline", "run")
    assert ran.returncode == 1, ran.stderr[-3000:]
    assert ran.stderr.strip().splitlines()[-2:] == [
        "error: pipeline step validate failed with exit code 3; not run: train, report",
        "hint: its last log lines are above; after fixing it, rerun from there: "
        "dockyard pipeline run --from validate"]
    assert "  | validate: expectation 'amount_is_audited' failed for 30 rows" in ran.stderr
    assert "dockyard: etl failed (exit 1), retry 1 of 1" in ran.stderr  # streamed step output
    train = step_state(project, "train")
    assert train["State"] == "created" and train["StartedAt"].startswith("0001-01-01")
    assert not (project / "outputs" / "model.json").exists()
    assert (project / "outputs" / "etl-runs.txt").read_text() == "attempt\nattempt\n"


def test_fixed_pipeline_completes_with_output_on_the_host(project: Path) -> None:
    (project / "expectations.ok").write_text("audited\n")
    ran = dockyard(project, "pipeline", "run", "--json")
    assert ran.returncode == 0, ran.stderr[-3000:]
    steps = json.loads(ran.stdout)["steps"]
    assert [(s["name"], s["state"], s["exit_code"]) for s in steps] == [
        ("etl", "exited", 0), ("validate", "exited", 0), ("train", "exited", 0),
        ("report", "exited", 0)]
    assert all(s["seconds"] > 0 for s in steps)
    model = json.loads((project / "outputs" / "model.json").read_text())
    assert model == {"total": sum(d * 10 for d in range(1, 31)), "step": "train"}
    # The notebook step: typed parameters, the kernel in notebooks/, the executed copy kept.
    assert (project / "outputs" / "report.txt").read_text() == "True ['north'] int notebooks\n"
    executed = nbformat.read(project / "notebooks" / "report.executed.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)


def test_from_step_reruns_only_what_follows(project: Path) -> None:
    runs_before = (project / "outputs" / "etl-runs.txt").read_text()
    (project / "outputs" / "model.json").unlink()
    ran = dockyard(project, "pipeline", "run", "--from", "train")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "running train -> report in stack" in ran.stderr
    assert (project / "outputs" / "model.json").exists()
    assert (project / "outputs" / "etl-runs.txt").read_text() == runs_before
    assert "train" in ran.stdout and "etl" not in ran.stdout


def test_unknown_from_step(project: Path) -> None:
    ran = dockyard(project, "pipeline", "run", "--from", "deploy")
    assert ran.returncode == 1
    assert ran.stderr.strip().splitlines()[-2:] == [
        "error: --from deploy: no step named 'deploy'",
        "hint: steps: etl, validate, train, report"]


@pytest.fixture
def gpu_project(engine: None, tmp_path: Path) -> Iterator[Path]:
    """A stack with a GPU lab and a GPU step, on this engine, which has no GPU."""
    if "nvidia" in docker("info", "--format", "{{json .Runtimes}}").stdout:
        pytest.skip("this engine has an NVIDIA runtime: the no-GPU paths do not apply")
    service_images()
    toml = ("[services.redis]\n[services.lab]\ngpu = true\n"
            '[pipeline.steps.train]\ncommand = "python train.py"\ngpu = true\n')
    root = write_project(tmp_path / "gpustack", toml, STEPS)
    try:
        yield root
    finally:
        remove_stack(compose_name(root))


def test_without_a_gpu_the_rest_of_the_stack_starts(gpu_project: Path) -> None:
    text = (gpu_project / "compose.yaml")
    ran = dockyard(gpu_project, "up", "--detach", "--json")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert json.loads(ran.stdout)["started"] == ["redis"]
    assert "warning: lab needs a GPU and this engine has none: not started" in ran.stderr
    assert "capabilities:\n            - gpu" in text.read_text()
    failed = dockyard(gpu_project, "pipeline", "run")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-2:] == [
        "error: step train needs a GPU, and this Docker engine has none (no NVIDIA runtime)",
        "hint: run it where the NVIDIA Container Toolkit is installed, or set gpu = false in "
        "[pipeline.steps.train]"]
