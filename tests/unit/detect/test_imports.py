"""Import scanning: .py files, notebooks with magics, stdlib and own-module filtering."""

from __future__ import annotations

import ast

from dockyard.detect._imports import detect_imports, local_modules, strip_magics
from dockyard.detect._pyscan import imports_in_cell, imports_in_source
from tests.unit.detect.conftest import MakeProject, notebook

SOURCE = '''\
"""Docstring mentioning
import fake_in_docstring
"""
from __future__ import annotations
import os, sys as system
import numpy.linalg as la, pandas
from sklearn.model_selection import train_test_split
from . import sibling
from .helpers import thing
x = "import not_in_strings"; import requests
# import not_in_comments
try: import ujson
except ImportError: import json
def load():
    import torch
    from  matplotlib  import (
        pyplot,
    )
class C:
    def method(self): from scipy import stats
import first_name \\
    , second_name
'''


def test_source_scan_finds_every_absolute_import() -> None:
    assert imports_in_source(SOURCE) == {
        "__future__",
        "os",
        "sys",
        "numpy",
        "pandas",
        "sklearn",
        "requests",
        "ujson",
        "json",
        "torch",
        "matplotlib",
        "scipy",
        "first_name",
        "second_name",
    }


def test_source_scan_agrees_with_ast_on_valid_code() -> None:
    assert imports_in_source(SOURCE) == imports_in_cell(ast.parse(SOURCE))


def test_detector_drops_stdlib_of_any_version_and_private_modules(
    make_project: MakeProject,
) -> None:
    code = "import os, json, urllib2, tomllib, asyncore, numpy, _pytest, __pypy__\n"
    view = make_project({"app.py": code + "from __future__ import annotations\n"})
    assert detect_imports(view).imports == (("numpy", "app.py"),)


def test_notebook_magics_shell_and_help_lines(make_project: MakeProject) -> None:
    nb = notebook(
        "%matplotlib inline\n!pip install seaborn\nimport pandas as pd\npd.read_csv?\n",
        "%%bash\npip install nothing\n",
        "%%time\nimport polars\n",
        "files = !ls\nif True:\n    !echo hi\nimport seaborn\n",
        "from sklearn import svm\n",
    )
    fragment = detect_imports(make_project({"analysis.ipynb": nb}))
    assert fragment.imports == (
        ("pandas", "analysis.ipynb"),
        ("polars", "analysis.ipynb"),
        ("seaborn", "analysis.ipynb"),
        ("sklearn", "analysis.ipynb"),
    )
    assert fragment.findings == ()


def test_unparsable_cell_is_skipped_with_an_info_finding(make_project: MakeProject) -> None:
    nb = notebook("import numpy\n", "def broken(:\n    import hidden\n")
    fragment = detect_imports(make_project({"nb/explore.ipynb": nb}))
    assert fragment.imports == (("numpy", "nb/explore.ipynb"),)
    assert [(f.severity, f.message) for f in fragment.findings] == [
        (
            "info",
            "nb/explore.ipynb: 1 code cell(s) could not be parsed; their imports were not scanned",
        ),
    ]


def test_non_python_notebooks_are_not_scanned(make_project: MakeProject) -> None:
    fragment = detect_imports(make_project({"r.ipynb": notebook("library(dplyr)\n", language="R")}))
    assert fragment.imports == ()
    assert "a r notebook" in fragment.findings[0].message


def test_strip_magics_keeps_blocks_valid() -> None:
    assert strip_magics("for x in y:\n    %time f(x)\n") == "for x in y:\n    pass"
    assert strip_magics("%%writefile out.py\nimport x\n") is None


def test_own_modules_are_reported_as_local(make_project: MakeProject) -> None:
    view = make_project(
        {
            "train.py": "import utils, features, mypkg, shared\n",
            "utils.py": "",
            "src/mypkg/__init__.py": "",
            "src/mypkg/features.py": "",
            "notebooks/shared/helpers.py": "",
        }
    )
    local = detect_imports(view).local_modules
    assert {"utils", "features", "mypkg", "shared", "src", "train"} <= set(local)
    assert "__init__" not in local


def test_local_modules_from_paths() -> None:
    assert local_modules(["a/b/c.py", "d.txt", "e/__init__.py", "my-dir/x.py"]) == (
        "a",
        "b",
        "c",
        "e",
        "x",
    )


def test_large_python_files_are_skipped(make_project: MakeProject) -> None:
    big = "import bigdep\n#" + "x" * 1_000_000
    fragment = detect_imports(make_project({"huge.py": big, "small.py": "import small_dep\n"}))
    assert fragment.imports == (("small_dep", "small.py"),)
    assert "larger than 1 MB" in fragment.findings[0].message
