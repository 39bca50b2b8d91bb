"""requirements*.txt: includes, options, markers, extras, URLs, local paths, errors."""

from __future__ import annotations

import pytest

from dockyard.detect._reqlines import HINT, logical_lines
from dockyard.detect._requirements import detect_requirements
from dockyard.detect._types import Dependency
from dockyard.errors import UserError
from tests.unit.detect.conftest import MakeProject


def by_name(deps: tuple[Dependency, ...]) -> dict[str, Dependency]:
    return {d.name: d for d in deps}


def test_names_are_normalised_and_specifiers_kept(make_project: MakeProject) -> None:
    view = make_project({"requirements.txt": "NumPy>=1.26\nscikit_learn==1.4.*\nRuamel.YAML\n"})
    deps = detect_requirements(view).dependencies
    assert [(d.name, d.specifier, d.source) for d in deps] == [
        ("numpy", ">=1.26", "requirements.txt"),
        ("scikit-learn", "==1.4.*", "requirements.txt"),
        ("ruamel-yaml", "", "requirements.txt"),
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-32"])
def test_a_file_saved_with_a_byte_order_mark_is_read(make_project: MakeProject,
                                                     encoding: str) -> None:
    """PowerShell's `pip freeze > requirements.txt` writes UTF-16 with a mark, CRLF lines."""
    view = make_project({})
    text = "pandas==2.2.3\r\nscikit-learn>=1.4 ; python_version >= '3.10'\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":  # Python's utf-16-be writes no mark: add it as editors do
        data = b"\xfe\xff" + data
    (view.root / "requirements.txt").write_bytes(data)
    deps = detect_requirements(view).dependencies
    assert [(d.name, d.specifier) for d in deps] == [("pandas", "==2.2.3"),
                                                     ("scikit-learn", ">=1.4")]


def test_markers_extras_comments_and_continuations(make_project: MakeProject) -> None:
    view = make_project(
        {
            "requirements.txt": """\
        # a comment line
        pandas[excel,performance]==2.2.1 \\
            --hash=sha256:abc \\
            --hash=sha256:def
        numpy<2 ; python_version < "3.12"   # trailing comment
        """
        }
    )
    deps = by_name(detect_requirements(view).dependencies)
    assert deps["pandas"].extras == ("excel", "performance")
    assert deps["pandas"].specifier == "==2.2.1"
    assert deps["numpy"].marker == 'python_version < "3.12"'
    assert deps["pandas"].requirement() == "pandas[excel,performance]==2.2.1"


def test_includes_are_relative_to_the_including_file_and_cycle_safe(
    make_project: MakeProject,
) -> None:
    view = make_project(
        {
            "requirements.txt": "-r requirements/base.txt\nflask\n",
            "requirements/base.txt": "--requirement=common/shared.txt\nnumpy\n"
            "-r ../requirements.txt\n",
            "requirements/common/shared.txt": "-rshared.txt\nrequests\n",
        }
    )
    deps = detect_requirements(view).dependencies
    assert [(d.name, d.source) for d in deps] == [
        ("requests", "requirements/common/shared.txt"),
        ("numpy", "requirements/base.txt"),
        ("flask", "requirements.txt"),
    ]


def test_every_requirements_file_is_read_main_file_first(make_project: MakeProject) -> None:
    view = make_project(
        {
            "requirements-dev.txt": "pytest\n",
            "requirements.txt": "numpy\n",
            "requirements/docs.txt": "sphinx\n",
            "sub/requirements.txt": "ignored\n",
        }
    )
    assert [d.name for d in detect_requirements(view).dependencies] == ["numpy", "pytest", "sphinx"]


def test_missing_include_is_a_user_error(make_project: MakeProject) -> None:
    view = make_project({"requirements.txt": "numpy\n-r nope.txt\n"})
    with pytest.raises(UserError, match=r"requirements.txt:2: included file 'nope.txt' not found"):
        detect_requirements(view)


def test_include_outside_the_project_is_skipped_with_a_warning(make_project: MakeProject) -> None:
    fragment = detect_requirements(make_project({"requirements.txt": "-r ../shared.txt\n"}))
    assert fragment.findings[0].severity == "warning"
    assert "outside the project" in fragment.findings[0].message


def test_index_urls(make_project: MakeProject) -> None:
    view = make_project(
        {
            "requirements.txt": """\
        --index-url https://mirror.example/simple
        --extra-index-url https://download.pytorch.org/whl/cu121
        --extra-index-url=https://extra.example/simple
        -i https://second.example/simple
        torch
        """
        }
    )
    fragment = detect_requirements(view)
    assert fragment.index_url == "https://mirror.example/simple"
    assert fragment.extra_index_urls == (
        "https://download.pytorch.org/whl/cu121",
        "https://extra.example/simple",
    )
    assert any("second --index-url" in f.message for f in fragment.findings)


def test_constraints_are_ignored_with_an_info_finding(make_project: MakeProject) -> None:
    fragment = detect_requirements(make_project({"requirements.txt": "-c constraints.txt\nx\n"}))
    assert [d.name for d in fragment.dependencies] == ["x"]
    assert [(f.severity, f.message) for f in fragment.findings] == [
        ("info", "requirements.txt:1: constraints file 'constraints.txt' ignored")
    ]


def test_editable_and_local_paths_are_skipped(make_project: MakeProject) -> None:
    view = make_project({"requirements.txt": "-e .\n./libs/helpers\nfile:///opt/pkg\nnumpy\n"})
    fragment = detect_requirements(view)
    assert [d.name for d in fragment.dependencies] == ["numpy"]
    assert [f.severity for f in fragment.findings] == ["info", "warning", "warning"]
    assert "the project itself" in fragment.findings[0].message


def test_urls_and_vcs_keep_the_url_as_specifier(make_project: MakeProject) -> None:
    view = make_project(
        {
            "requirements.txt": """\
        mylib @ git+https://github.com/acme/mylib@v1.2
        git+https://github.com/acme/other.git@main#egg=other_lib
        -e git+https://github.com/acme/editable#egg=ed
        https://files.example/wheels/fancy_pkg-1.0-py3-none-any.whl
        https://files.example/unknown.tar.gz
        """
        }
    )
    fragment = detect_requirements(view)
    assert [(d.name, d.specifier) for d in fragment.dependencies] == [
        ("mylib", "@ git+https://github.com/acme/mylib@v1.2"),
        ("other-lib", "@ git+https://github.com/acme/other.git@main"),
        ("ed", "@ git+https://github.com/acme/editable"),
        ("fancy-pkg", "@ https://files.example/wheels/fancy_pkg-1.0-py3-none-any.whl"),
    ]
    assert fragment.dependencies[0].requirement() == "mylib @ git+https://github.com/acme/mylib@v1.2"
    assert "cannot tell the package name" in fragment.findings[0].message


@pytest.mark.parametrize("line", ["pip install scikit-learn==1.5 xgboost",
                                  "!pip install scikit-learn==1.5 xgboost",
                                  "python -m pip install scikit-learn==1.5 xgboost"])
def test_a_pasted_install_command_is_named_as_one(make_project: MakeProject, line: str) -> None:
    view = make_project({"requirements.txt": f"pandas\n{line}\n"})
    with pytest.raises(UserError) as err:
        detect_requirements(view)
    assert err.value.message == f"requirements.txt:2: cannot parse {line!r}"
    assert err.value.hint == ("this is a command, not a requirement: write what it installs, "
                              "one per line (here: scikit-learn==1.5 xgboost)")


def test_malformed_line_message_is_exact(make_project: MakeProject) -> None:
    view = make_project({"requirements.txt": "numpy\npandas\nnumpy>=>1\n"})
    with pytest.raises(UserError) as caught:
        detect_requirements(view)
    assert caught.value.message == "requirements.txt:3: cannot parse 'numpy>=>1'"
    assert caught.value.hint == HINT
    assert HINT == "fix the line or remove it (PEP 508: name[extras] specifier ; marker)"


def test_logical_lines_number_continuations_by_their_first_line() -> None:
    text = "a \\\n  b\n\n# x\nc # y\nurl#egg=z\n"
    assert list(logical_lines(text)) == [(1, "a b"), (5, "c"), (6, "url#egg=z")]


def test_unknown_options_warn_and_known_ones_inform(make_project: MakeProject) -> None:
    view = make_project({"requirements.txt": "--pre\n--find-links ./wheels\n--frobnicate\n"})
    assert [f.severity for f in detect_requirements(view).findings] == ["info", "info", "warning"]


def test_no_requirements_file_gives_an_empty_fragment(make_project: MakeProject) -> None:
    fragment = detect_requirements(make_project({"main.py": "print(1)\n"}))
    assert fragment.dependencies == () and fragment.findings == ()
