"""The Kubernetes test projects: golden inputs, and variants of them made in a tmp folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from dockyard.app import k8s
from dockyard.app.context import Project, load_project
from tests.unit.stack.helpers import fixed_key

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if p.name.startswith("k8s-")
               and (p / "input").is_dir())


def golden_project(case: str, root: Path | None = None) -> Project:
    """The case's project (or its copy at ROOT) with a project key that does not depend on
    where the checkout lives."""
    return fixed_key(load_project(root or GOLDEN / case / "input"), f"{case}-00000000")


def copy_case(case: str, dest: Path) -> Path:
    shutil.copytree(GOLDEN / case / "input", dest)
    return dest


def with_gpu(root: Path) -> Path:
    """The churn project with a GPU for the API and the training step."""
    toml = (root / "dockyard.toml").read_text()
    toml = toml.replace('memory = "4g"', 'memory = "4g"\ngpu = true')
    (root / "dockyard.toml").write_text(toml + '\n[deploy.gpu]\ncount = 1\n')
    return root


def with_storage(root: Path) -> Path:
    """Claims of other sizes, in a StorageClass of the project's choosing."""
    with (root / "dockyard.toml").open("a") as toml:
        toml.write('\n[deploy.storage]\nsize = "20Gi"\nclass = "fast-ssd"\n'
                   'sizes = { data = "500Gi", db = "50Gi" }\n')
    return root


def layout_files(case: str) -> dict[str, str]:
    made = k8s.layout(golden_project(case))
    return {a.path: a.content for a in made.artifacts}
