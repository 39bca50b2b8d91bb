"""Optional imports (guarded, typing-only, in tests or build scripts): reported, not installed."""

from __future__ import annotations

import ast
import textwrap

from dockyard.detect import detect
from dockyard.detect._imports import is_test_or_build_file
from dockyard.detect._pyscan import GUARDED, TYPE_ONLY, classify_source, classify_tree
from tests.unit.detect.conftest import MakeProject, notebook

GUARDED_SOURCE = textwrap.dedent(
    """\
    import numpy
    try:
        import Fr
    except ImportError:
        from pylal import Fr
    try:
        import ujson as json
    except (ValueError, ModuleNotFoundError):
        import simplejson
    try:
        import rich
    except:  # noqa: E722
        rich = None
    try:
        import must_have
    except ValueError:
        pass
    from typing import TYPE_CHECKING
    if TYPE_CHECKING:
        from pandas import DataFrame
    else:
        import attrs
    if typing.TYPE_CHECKING:
        import polars
    def f():
        try:
            import tqdm
        except Exception:
            tqdm = None
    """
)


def test_guards_and_type_checking_make_imports_optional() -> None:
    required, optional = classify_source(GUARDED_SOURCE)
    assert required == {"numpy", "must_have", "typing", "attrs"}
    assert optional == {
        "Fr": GUARDED,
        "pylal": GUARDED,
        "ujson": GUARDED,
        "simplejson": GUARDED,
        "rich": GUARDED,
        "pandas": TYPE_ONLY,
        "polars": TYPE_ONLY,
        "tqdm": GUARDED,
    }


def test_a_module_imported_both_ways_is_required() -> None:
    required, optional = classify_source(
        "import yaml\ntry:\n    import yaml\nexcept ImportError:\n    pass\n"
    )
    assert (required, optional) == ({"yaml"}, {})


def test_broad_handlers_alone_trigger_the_precise_scan() -> None:
    source = "try:\n    import tqdm\nexcept Exception as exc:\n    tqdm = None\n"
    assert classify_source(source) == (set(), {"tqdm": GUARDED})
    assert classify_source("try:\n    import a\nexcept:\n    a = None\n") == (
        set(), {"a": GUARDED})


def test_files_without_guards_keep_the_fast_path() -> None:
    assert classify_source("import numpy, pandas as pd\n") == ({"numpy", "pandas"}, {})


def test_unparsable_file_with_a_guard_word_falls_back_to_required() -> None:
    required, optional = classify_source("try:\n    import x\nexcept ImportError\n")
    assert (required, optional) == ({"x"}, {})


def test_test_and_build_files() -> None:
    for rel in ("setup.py", "conftest.py", "pkg/test_io.py", "io_test.py", "tests/helpers.py",
                "src/pkg/tests/data.py", "noxfile.py"):
        assert is_test_or_build_file(rel), rel
    for rel in ("train.py", "testing.py", "src/pkg/contest.py", "latest_model.py"):
        assert not is_test_or_build_file(rel), rel


def test_detection_lists_optional_imports_and_installs_none(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "analysis.py": "import pandas\ntry:\n    import Fr\nexcept ImportError:\n"
                "    from pylal import Fr\n",
                "setup.py": "import setuptools\n",
                "tests/test_analysis.py": "import pytest\nimport pandas\nimport hypothesis\n",
                "conftest.py": "import pytest\n",
                "requirements.txt": "hypothesis\n",
                "nb.ipynb": notebook("try:\n    import seaborn\nexcept ImportError:\n    pass"),
            }
        )
    )
    assert [u.module for u in det.undeclared_imports] == ["pandas"]
    assert [(o.module, o.reason, o.files) for o in det.optional_imports] == [
        ("Fr", GUARDED, ("analysis.py",)),
        ("pylal", GUARDED, ("analysis.py",)),
        ("pytest", "in a test or build script", ("conftest.py", "tests/test_analysis.py")),
        ("seaborn", GUARDED, ("nb.ipynb",)),
        ("setuptools", "in a test or build script", ("setup.py",)),
    ]
    finding = next(f for f in det.findings if f.message.startswith("optional imports"))
    assert finding.severity == "info"
    assert "Fr (guarded by except ImportError, analysis.py)" in finding.message
    doc = det.to_json()
    assert doc["optional_imports"][0]["module"] == "Fr"


def test_notebook_cells_are_classified_with_ast() -> None:
    tree = ast.parse("if TYPE_CHECKING:\n    import torch\nimport numpy\n")
    assert classify_tree(tree) == ({"numpy"}, {"torch": TYPE_ONLY})
