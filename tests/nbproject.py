"""A project laid out as data scientists lay them out: notebooks/ next to src/ and data/.

`notebooks/analysis.ipynb` imports from `../src`, reads `../data/`, and has a cell tagged
`parameters` (alpha, name, epochs); `notebooks/broken.ipynb` fails in a helper function.
Shared by the runner's unit tests and the engine's integration test.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ANALYSIS = "notebooks/analysis.ipynb"
BROKEN = "notebooks/broken.ipynb"

_SETUP = """import os, sys
sys.path.insert(0, '../src')
from churnlib import describe"""
_READ = """import csv
rows = list(csv.DictReader(open('../data/customers.csv')))
print(f"rows={len(rows)}")"""
_REPORT = """print(describe(rows, alpha))
print(f"name={name!r} epochs={epochs!r} alpha_type={type(alpha).__name__}")
print(f"cwd={os.path.basename(os.getcwd())}")"""
_BROKEN = """def check(rows):
    raise ValueError(f"bad rows: {len(rows)}")

check(rows)"""


def notebook(*cells: str, parameters_at: int | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Churn analysis")]
    for i, source in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        if i == parameters_at:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    return nb


def make_project(root: Path) -> Path:
    (root / "notebooks").mkdir(parents=True)
    (root / "src" / "churnlib").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "src" / "churnlib" / "__init__.py").write_text(
        "def describe(rows, alpha):\n"
        "    return f'described {len(rows)} rows at alpha={alpha}'\n")
    (root / "data" / "customers.csv").write_text(
        "id,plan,churned\n1,basic,0\n2,pro,1\n3,basic,1\n")
    params = "alpha = 0.1\nname = 'baseline'\nepochs = 3"
    nbformat.write(notebook(_SETUP, params, _READ, _REPORT, parameters_at=1), root / ANALYSIS)
    nbformat.write(notebook(_SETUP, params, _READ, _BROKEN, "print('never')", parameters_at=1),
                   root / BROKEN)
    return root


def outputs(path: Path) -> list[str]:
    """Every stream text of an executed notebook, in order."""
    nb = nbformat.read(path, as_version=4)
    return [o.get("text", "") for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "stream"]
