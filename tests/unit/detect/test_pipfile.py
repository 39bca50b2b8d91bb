"""Pipfile: packages, dev-packages, version tables, markers, sources, python_version."""

from __future__ import annotations

import pytest

from dockyard.detect._pipfile import detect_pipfile
from dockyard.detect._types import PythonChoice
from dockyard.errors import UserError
from tests.unit.detect.conftest import MakeProject

PIPFILE = """\
[[source]]
url = "https://pypi.org/simple"
name = "pypi"

[[source]]
url = "https://download.pytorch.org/whl/cu118"
name = "torch"

[packages]
numpy = "*"
Pandas = ">=2.0"
requests = {version = "==2.31.0", extras = ["socks"], sys_platform = "== 'linux'"}
forked = {git = "https://github.com/a/forked.git", ref = "v1"}
mine = {path = ".", editable = true}
bare = "1.2"

[dev-packages]
pytest = "*"

[requires]
python_version = "3.12"
"""


def test_pipfile(make_project: MakeProject) -> None:
    fragment = detect_pipfile(make_project({"Pipfile": PIPFILE}))
    assert [(d.name, d.specifier, d.source) for d in fragment.dependencies] == [
        ("numpy", "", "Pipfile"),
        ("pandas", ">=2.0", "Pipfile"),
        ("requests", "==2.31.0", "Pipfile"),
        ("forked", "@ git+https://github.com/a/forked.git@v1", "Pipfile"),
        ("bare", "==1.2", "Pipfile"),
        ("pytest", "", "Pipfile [dev-packages]"),
    ]
    requests = fragment.dependencies[2]
    assert requests.extras == ("socks",)
    assert requests.marker == "sys_platform == 'linux'"
    assert fragment.python == (PythonChoice("3.12", "Pipfile"),)
    assert fragment.index_url == ""  # PyPI first: no --index-url needed
    assert fragment.extra_index_urls == ("https://download.pytorch.org/whl/cu118",)
    assert "local package mine" in fragment.findings[0].message


def test_invalid_pipfile_is_a_user_error(make_project: MakeProject) -> None:
    with pytest.raises(UserError, match=r"^Pipfile: invalid TOML"):
        detect_pipfile(make_project({"Pipfile": "[packages\n"}))
