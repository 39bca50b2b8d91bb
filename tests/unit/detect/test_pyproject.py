"""pyproject.toml: PEP 621, optional dependencies, PEP 735 groups, Poetry, PDM, uv indexes."""

from __future__ import annotations

import pytest

from dockyard.detect._poetry import poetry_constraint
from dockyard.detect._pyproject import detect_pyproject
from dockyard.detect._types import PythonChoice
from dockyard.errors import UserError
from tests.unit.detect.conftest import MakeProject

PEP621 = """\
[project]
name = "Churn_Model"
requires-python = ">=3.10"
dependencies = ["numpy>=1.26", "pandas[parquet]"]

[project.optional-dependencies]
plot = ["matplotlib>=3.8"]
all = ["churn-model[plot]"]

[dependency-groups]
test = ["pytest>=8", {include-group = "lint"}]
lint = ["ruff"]

[tool.pdm.dev-dependencies]
docs = ["-e file:///${PROJECT_ROOT}/vendored", "mkdocs"]
"""


def test_standard_tables_with_their_sources(make_project: MakeProject) -> None:
    fragment = detect_pyproject(make_project({"pyproject.toml": PEP621}))
    assert [(d.name, d.specifier, d.source) for d in fragment.dependencies] == [
        ("numpy", ">=1.26", "pyproject.toml"),
        ("pandas", "", "pyproject.toml"),
        ("matplotlib", ">=3.8", "pyproject.toml [project.optional-dependencies.plot]"),
        ("ruff", "", "pyproject.toml [dependency-groups.lint]"),
        ("pytest", ">=8", "pyproject.toml [dependency-groups.test]"),
        ("mkdocs", "", "pyproject.toml [tool.pdm.dev-dependencies.docs]"),
    ]
    assert fragment.python == (PythonChoice(">=3.10", "pyproject.toml"),)
    assert "local package" in fragment.findings[0].message


def test_self_reference_in_extras_is_dropped(make_project: MakeProject) -> None:
    fragment = detect_pyproject(make_project({"pyproject.toml": PEP621}))
    assert "churn-model" not in {d.name for d in fragment.dependencies}


@pytest.mark.parametrize(
    ("poetry", "pep440"),
    [
        ("^1.2", ">=1.2,<2.0"),
        ("^1.2.3", ">=1.2.3,<2.0.0"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("^0", ">=0,<1"),
        ("~1.2", ">=1.2,<1.3"),
        ("~1.2.3", ">=1.2.3,<1.3.0"),
        ("~1", ">=1,<2"),
        ("~=1.4", "~=1.4"),
        ("*", ""),
        ("1.2.3", "==1.2.3"),
        (">= 1.2, < 1.5", ">=1.2,<1.5"),
        (">=1.2 <1.5", ">=1.2,<1.5"),
    ],
)
def test_poetry_constraints(poetry: str, pep440: str) -> None:
    assert poetry_constraint(poetry) == pep440


def test_poetry_or_constraints_are_untranslatable() -> None:
    assert poetry_constraint("^1.2 || ^2.0") is None


def test_poetry_tables_groups_sources_and_python(make_project: MakeProject) -> None:
    view = make_project(
        {
            "pyproject.toml": """\
        [tool.poetry]
        name = "x"
        [tool.poetry.dependencies]
        python = "^3.10"
        requests = "^2.31"
        torch = {version = "~2.3", source = "pytorch", extras = ["opt"]}
        mylib = {path = "../mylib", develop = true}
        forked = {git = "https://github.com/a/forked.git", tag = "v2"}
        odd = "^1 || ^2"
        [tool.poetry.group.dev.dependencies]
        black = "*"
        [[tool.poetry.source]]
        name = "pytorch"
        url = "https://download.pytorch.org/whl/cu121"
        priority = "explicit"
        """
        }
    )
    fragment = detect_pyproject(view)
    main = "pyproject.toml [tool.poetry.dependencies]"
    assert [(d.name, d.specifier, d.source) for d in fragment.dependencies] == [
        ("requests", ">=2.31,<3.0", main),
        ("torch", ">=2.3,<2.4", main),
        ("forked", "@ git+https://github.com/a/forked.git@v2", main),
        ("odd", "", main),
        ("black", "", "pyproject.toml [tool.poetry.group.dev.dependencies]"),
    ]
    assert fragment.dependencies[1].extras == ("opt",)
    assert fragment.python == (PythonChoice(">=3.10,<4.0", "pyproject.toml"),)
    assert fragment.extra_index_urls == ("https://download.pytorch.org/whl/cu121",)
    assert fragment.index_url == ""
    assert [f.severity for f in fragment.findings] == ["info", "warning"]


def test_uv_indexes(make_project: MakeProject) -> None:
    view = make_project(
        {
            "pyproject.toml": """\
        [project]
        name = "x"
        [[tool.uv.index]]
        name = "mirror"
        url = "https://mirror.example/simple"
        default = true
        [[tool.uv.index]]
        name = "pytorch"
        url = "https://download.pytorch.org/whl/cu124"
        explicit = true
        """
        }
    )
    fragment = detect_pyproject(view)
    assert fragment.index_url == "https://mirror.example/simple"
    assert fragment.extra_index_urls == ("https://download.pytorch.org/whl/cu124",)


def test_invalid_toml_is_a_user_error(make_project: MakeProject) -> None:
    view = make_project({"pyproject.toml": "[project\nname = 1\n"})
    with pytest.raises(UserError, match=r"^pyproject.toml: invalid TOML: "):
        detect_pyproject(view)


def test_malformed_dependency_names_the_table(make_project: MakeProject) -> None:
    view = make_project({"pyproject.toml": '[project]\ndependencies = ["numpy>=>1"]\n'})
    with pytest.raises(UserError) as caught:
        detect_pyproject(view)
    assert caught.value.message == "pyproject.toml [project] dependencies: cannot parse 'numpy>=>1'"


def test_invalid_requires_python_is_a_warning(make_project: MakeProject) -> None:
    fragment = detect_pyproject(
        make_project({"pyproject.toml": '[project]\nrequires-python = "3"\n'})
    )
    assert fragment.python == ()
    assert fragment.findings[0].severity == "warning"


def test_tool_only_pyproject_declares_nothing(make_project: MakeProject) -> None:
    fragment = detect_pyproject(make_project({"pyproject.toml": "[tool.ruff]\nline-length = 99\n"}))
    assert fragment.dependencies == () and fragment.python == ()
