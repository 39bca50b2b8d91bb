"""The notebook runner (runtime/run_notebook.py): its helpers in process, and whole runs as the
image runs it (`python3 run_notebook.py …`) on a local kernel from this virtualenv.

papermill, nbconvert and ipykernel are dev dependencies; without them the runs skip locally,
and fail under CI=true, where a skip would hide the runner untested.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import nbformat
import pytest

from tests.conftest import REPO
from tests.nbproject import ANALYSIS, BROKEN, make_project, notebook, outputs

RUNNER = REPO / "src" / "dockyard" / "runtime" / "run_notebook.py"


def _need(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs {module} in the venv (pip install -e '.[dev]')")
        pytest.skip(f"{module} is not installed")


@pytest.fixture(scope="module")
def rn() -> ModuleType:
    _need("papermill")
    from dockyard.runtime import run_notebook

    return run_notebook


def run_runner(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    for module in ("papermill", "ipykernel", "nbconvert"):
        _need(module)
    return subprocess.run([sys.executable, str(RUNNER), *args], cwd=root, capture_output=True,
                          text=True, timeout=300, check=False)


# ---- helpers, in process ------------------------------------------------------------------


def test_parameter_values_are_inferred_as_papermill_infers_them(rn: ModuleType) -> None:
    args = rn.parse_args(["a.ipynb", "b.ipynb", "-p", "i", "3", "-p", "f", "0.5", "-p", "t",
                          "True", "-p", "n", "None", "-p", "s", "x y", "-p", "neg", "-1e3",
                          "-p", "flag", "--not-an-option", "--timeout", "7"])
    assert rn.parameters(args) == {"i": 3, "f": 0.5, "t": True, "n": None, "s": "x y",
                                   "neg": -1000.0, "flag": "--not-an-option"}
    assert (args.notebook, args.output, args.timeout) == ("a.ipynb", "b.ipynb", 7)


def test_typed_json_parameters_are_kept_and_p_wins(rn: ModuleType) -> None:
    args = rn.parse_args(["a.ipynb", "b.ipynb", "--parameters-json",
                          '{"tag": "10", "layers": [1, 2], "alpha": 0.1}', "-p", "alpha", "2"])
    assert rn.parameters(args) == {"tag": "10", "layers": [1, 2], "alpha": 2}


@pytest.mark.parametrize(("argv", "message"), [
    (["--parameters-json", "[1]"], "must be a JSON object"),
    (["--parameters-json", "{nope"], "Expecting property name"),
    (["-p", "not-a-name", "1"], "not a Python name: 'not-a-name'"),
])
def test_bad_parameters_are_refused(rn: ModuleType, argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rn.parameters(rn.parse_args(["a.ipynb", "b.ipynb", *argv]))


def test_a_parameter_without_its_value_is_a_usage_error(rn: ModuleType) -> None:
    with pytest.raises(SystemExit) as exc:
        rn.parse_args(["a.ipynb", "b.ipynb", "-p", "alpha"])
    assert exc.value.code == 2


def test_progress_numbers_code_cells_that_run(rn: ModuleType) -> None:
    nb = notebook("x = 1", "   ", "alpha = 1", "print(x)\nprint(2)", parameters_at=2)
    injected = nbformat.v4.new_code_cell("# Parameters\nalpha = 2\n")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(4, injected)  # after the `parameters` cell, as papermill puts it
    stream = io.StringIO()
    progress = rn.Progress(stream)
    progress.begin(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.strip():
            progress.cell_started(cell, index)
    assert stream.getvalue().splitlines() == [
        "[1/4] cell 1: x = 1",
        "[2/4] cell 2: alpha = 1",
        "[3/4] cell 3: parameters (injected)",
        "[4/4] cell 4: print(x)",
    ]
    assert progress.name(5) == "cell 4" and progress.name(0) == "a cell"


def test_traceback_tail_drops_colours_and_the_header(rn: ModuleType) -> None:
    tb = ["\x1b[0;31m" + "-" * 75 + "\x1b[0m",
          "\x1b[0;31mValueError\x1b[0m    Traceback (most recent call last)",
          "Cell \x1b[0;32mIn[4], line 4\x1b[0m\n      1 def check(rows):\n----> 4 check(rows)",
          "\x1b[0;31mValueError\x1b[0m: bad rows: 3"]
    assert rn.traceback_tail(tb) == ["Cell In[4], line 4", "      1 def check(rows):",
                                     "----> 4 check(rows)", "ValueError: bad rows: 3"]
    assert rn.traceback_tail(tb, count=1) == ["ValueError: bad rows: 3"]


def test_first_line_skips_blank_lines_and_shortens(rn: ModuleType) -> None:
    assert rn.first_line("\n\n  import os  \nx") == "import os"
    assert rn.first_line("y = " + "1" * 100, width=10) == "y = 11111…"
    assert rn.first_line("") == ""


def test_main_reports_bad_json_with_exit_2(rn: ModuleType, tmp_path: Path) -> None:
    err = io.StringIO()
    code = rn.main([str(tmp_path / "a.ipynb"), "b.ipynb", "--parameters-json", "[]"],
                   stderr=err)
    assert code == 2
    assert "--parameters-json must be a JSON object" in err.getvalue()


def test_parse_args_namespace_shape(rn: ModuleType) -> None:
    args = rn.parse_args(["a.ipynb", "out/b.ipynb"])
    assert vars(args) == vars(SimpleNamespace(notebook="a.ipynb", output="out/b.ipynb",
                                              parameters_json="", html="", timeout=600,
                                              parameter=[]))


# ---- whole runs on a local kernel ---------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


def test_kernel_starts_in_the_notebooks_folder_with_injected_parameters(project: Path) -> None:
    ran = run_runner(project, ANALYSIS, "out/analysis.ipynb", "-p", "alpha", "0.5",
                     "-p", "name", "x", "--parameters-json", '{"epochs": "7"}',
                     "--html", "out/analysis.html")
    assert ran.returncode == 0, ran.stderr
    texts = "".join(outputs(project / "out" / "analysis.ipynb"))
    assert "rows=3" in texts  # ../data/ from the notebook's folder
    assert "described 3 rows at alpha=0.5" in texts  # ../src imported
    assert "name='x' epochs='7' alpha_type=float" in texts
    assert "cwd=notebooks" in texts
    executed = nbformat.read(project / "out" / "analysis.ipynb", as_version=4)
    tags = [c.metadata.get("tags", []) for c in executed.cells]
    assert tags.index(["injected-parameters"]) == tags.index(["parameters"]) + 1
    injected = executed.cells[tags.index(["injected-parameters"])].source
    assert "alpha = 0.5" in injected and 'name = "x"' in injected and 'epochs = "7"' in injected
    lines = ran.stderr.splitlines()
    assert [ln for ln in lines if ln.startswith("[")] == [
        "[1/5] cell 1: import os, sys", "[2/5] cell 2: alpha = 0.1",
        "[3/5] cell 3: parameters (injected)", "[4/5] cell 4: import csv",
        "[5/5] cell 5: print(describe(rows, alpha))"]
    assert "5 code cells executed in" in ran.stdout
    assert "IPKernelApp" not in ran.stderr  # the kernel's own log noise stays out
    page = (project / "out" / "analysis.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "described 3 rows at alpha=0.5" in page


def test_a_failing_cell_is_named_with_its_traceback_tail(project: Path) -> None:
    ran = run_runner(project, BROKEN, "notebooks/broken.executed.ipynb", "--html", "b.html")
    assert ran.returncode == 1
    lines = ran.stderr.strip().splitlines()
    assert lines[-1] == "DOCKYARD_CELL_ERROR: cell 4 raised ValueError: bad rows: 3"
    assert lines[-2] == "  | ValueError: bad rows: 3"
    assert "  | ----> 4 check(rows)" in lines
    assert "[5/5]" not in ran.stderr  # the run stopped at the failing cell
    assert "Traceback (most recent call last)" not in ran.stderr
    executed = nbformat.read(project / "notebooks" / "broken.executed.ipynb", as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ValueError"]
    assert (project / "b.html").exists()  # written on failure too: the page shows the error


def test_no_parameters_cell_injects_at_the_top_with_a_warning(tmp_path: Path) -> None:
    nbformat.write(notebook("print(alpha)"), tmp_path / "plain.ipynb")
    ran = run_runner(tmp_path, "plain.ipynb", "out.ipynb", "-p", "alpha", "1", "-p", "beta", "2")
    assert ran.returncode == 0, ran.stderr
    assert "warning: Passed unknown parameter: beta" in ran.stderr
    assert "warning: Input notebook does not contain a cell with tag 'parameters'" in ran.stderr
    assert outputs(tmp_path / "out.ipynb") == ["1\n"]


def test_the_notebook_folder_holds_only_what_the_notebook_put_there(tmp_path: Path) -> None:
    (tmp_path / "nb").mkdir()
    nbformat.write(notebook("import os\nprint(sorted(os.listdir('.')))"),
                   tmp_path / "nb" / "ls.ipynb")
    ran = run_runner(tmp_path, "nb/ls.ipynb", "out/ls.ipynb")
    assert ran.returncode == 0, ran.stderr
    assert outputs(tmp_path / "out" / "ls.ipynb") == ["['ls.ipynb']\n"]  # no kernel sockets


def test_a_notebook_that_does_not_load_is_no_cell_failure(tmp_path: Path) -> None:
    (tmp_path / "torn.ipynb").write_text('{"cells": [')
    ran = run_runner(tmp_path, "torn.ipynb", "torn.out.ipynb", "--html", "torn.html")
    assert ran.returncode == 1
    last = ran.stderr.strip().splitlines()[-1]
    assert last.startswith("run_notebook.py: error: "), last
    assert "DOCKYARD_CELL_ERROR" not in ran.stderr
    assert not (tmp_path / "torn.out.ipynb").exists() and not (tmp_path / "torn.html").exists()


def test_a_cell_timeout_names_the_cell(tmp_path: Path) -> None:
    nbformat.write(notebook("x = 1", "import time\ntime.sleep(30)"), tmp_path / "slow.ipynb")
    ran = run_runner(tmp_path, "slow.ipynb", "slow.out.ipynb", "--timeout", "2")
    assert ran.returncode == 1
    # (the kernel, stopped mid-cell, may still print its own noise around this line)
    assert "DOCKYARD_CELL_ERROR: cell 2 timed out after 2s (--timeout)\n" in ran.stderr

