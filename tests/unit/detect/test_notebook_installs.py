"""What notebooks `pip install` for themselves is installed in the image, pinned as they pin it."""

from __future__ import annotations

from pathlib import Path

from dockyard.app.context import load_project
from dockyard.detect import detect
from dockyard.detect._nbpip import pip_installs
from tests.unit.detect.conftest import MakeProject, notebook

CELL = """\
!pip install -q xgboost==1.7.6 'scikit-learn>=1.3' --upgrade
%pip install lightgbm==4.0 -i https://example.org/simple pandas[excel]
!{sys.executable} -m pip install --upgrade pip setuptools
!python -m pip install \\
    seaborn  # plots
!pip install -r requirements.txt ./local git+https://example.org/a/b.git {extra} $pkg a-1.0.whl
!pip install torch==2.1; pip install never-reached
!pip install numpy>=1.2 2>&1 | tail
!pip install 'polars ; python_version >= "3.9"'
!conda install scipy
x = 1  # !pip install not-a-command
"""


def test_each_name_a_cell_installs_is_read_as_the_shell_reads_it() -> None:
    assert [d.requirement() for d in pip_installs(CELL, "nb.ipynb")] == [
        "xgboost==1.7.6", "scikit-learn>=1.3", "lightgbm==4.0", "pandas[excel]", "seaborn",
        "torch==2.1",
        "numpy",  # unquoted, `>=1.2` was a redirect to a file named "=1.2": any numpy
        'polars ; python_version >= "3.9"',
    ]


def test_a_notebook_install_declares_what_it_imports(make_project: MakeProject) -> None:
    det = detect(make_project({
        "requirements.txt": "pandas\n",
        "nb/train.ipynb": notebook("%pip install xgboost==1.7.6 'scikit-learn>=1.3'",
                                   "import xgboost, sklearn, pandas, yaml"),
    }))
    assert [(d.requirement(), d.source) for d in det.notebook_installs] == [
        ("scikit-learn>=1.3", "nb/train.ipynb"), ("xgboost==1.7.6", "nb/train.ipynb")]
    assert [u.module for u in det.undeclared_imports] == ["yaml"]


def test_a_dependency_file_wins_and_a_disagreeing_pin_is_named(make_project: MakeProject
                                                               ) -> None:
    det = detect(make_project({
        "requirements.txt": "xgboost==2.0.3\nseaborn\n",
        "a.ipynb": notebook("!pip install xgboost==1.7.6 seaborn==0.13.2 lightgbm"),
        "b.ipynb": notebook("!pip install lightgbm==4.3.0"),
        "tests/check.ipynb": notebook("!pip install pytest-notebook"),
    }))
    assert [d.requirement() for d in det.notebook_installs] == ["lightgbm==4.3.0"]
    assert [f.message for f in det.findings if f.severity == "warning"] == [
        "xgboost: requirements.txt says ==2.0.3 but a.ipynb says ==1.7.6; using ==2.0.3"]


def test_they_are_installed_unless_install_undeclared_is_false(tmp_path: Path) -> None:
    (tmp_path / "a.ipynb").write_text(notebook("%pip install my-private-lib==0.3"))
    assert "my-private-lib==0.3" in load_project(tmp_path).spec.requirements
    (tmp_path / "dockyard.toml").write_text("[dependencies]\ninstall_undeclared = false\n")
    assert not any("my-private-lib" in r for r in load_project(tmp_path).spec.requirements)
