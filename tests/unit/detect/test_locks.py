"""Lock files: every locked package at its version, with platform markers; local ones left out."""

from __future__ import annotations

import json

import pytest

from dockyard.detect._locks import edge_markers, lock_files, read_lock
from dockyard.errors import UserError
from tests.unit.detect.conftest import MakeProject

UV_LOCK = """\
version = 1
[[package]]
name = "NumPy"
version = "1.26.4"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "torch"
version = "2.3.0+cu121"
source = { registry = "https://download.pytorch.org/whl/cu121" }
[[package]]
name = "myproject"
version = "0.1.0"
source = { editable = "." }
[[package]]
name = "forked"
version = "0.3.0"
source = { git = "https://github.com/a/forked?rev=abc#abc" }
[[package]]
name = "scipy"
version = "1.11.4"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "scipy"
version = "1.13.1"
source = { registry = "https://pypi.org/simple" }
"""

POETRY_LOCK = """\
[[package]]
name = "pandas"
version = "2.2.2"
[[package]]
name = "private"
version = "1.0"
[package.source]
type = "legacy"
url = "https://private.example/simple"
[[package]]
name = "local"
version = "0.1"
[package.source]
type = "directory"
url = "../local"
"""


def deps(view_lock: object) -> list[tuple[str, str, str]]:
    from dockyard.detect._locks import LockRead

    assert isinstance(view_lock, LockRead)
    return [(d.name, d.specifier, d.marker) for d in view_lock.dependencies]


def test_uv_lock(make_project: MakeProject) -> None:
    read = read_lock(make_project({"uv.lock": UV_LOCK}), "uv.lock", "uv")
    assert deps(read) == [
        ("numpy", "==1.26.4", ""),
        ("torch", "==2.3.0+cu121", ""),
        ("forked", "@ git+https://github.com/a/forked@abc", ""),
        ("scipy", "", ""),
    ]
    assert read.pins == (("numpy", "1.26.4", "uv.lock"), ("torch", "2.3.0+cu121", "uv.lock"))
    assert "scipy locked at several versions" in read.findings[0].message


def test_uv_lock_markers_come_from_the_edges(make_project: MakeProject) -> None:
    lock = """\
        [[package]]
        name = "app"
        version = "0.1.0"
        source = { editable = "." }
        dependencies = [
            { name = "portalocker" },
            { name = "colorama", marker = "sys_platform == 'win32'" },
        ]
        [[package]]
        name = "portalocker"
        version = "2.8.2"
        source = { registry = "https://pypi.org/simple" }
        dependencies = [{ name = "pywin32", marker = "platform_system == 'Windows'" }]
        [[package]]
        name = "pywin32"
        version = "306"
        source = { registry = "https://pypi.org/simple" }
        [[package]]
        name = "colorama"
        version = "0.4.6"
        source = { registry = "https://pypi.org/simple" }
        """
    read = read_lock(make_project({"uv.lock": lock}), "uv.lock", "uv")
    assert deps(read) == [
        ("portalocker", "==2.8.2", ""),
        ("pywin32", "==306", "platform_system == 'Windows'"),
        ("colorama", "==0.4.6", "sys_platform == 'win32'"),
    ]
    assert [d.requirement() for d in read.dependencies][1] == (
        "pywin32==306 ; platform_system == 'Windows'"
    )


def test_edge_markers_union_and_unconditional() -> None:
    edges = [("a", "os_name == 'nt'"), ("a", "sys_platform == 'darwin'"), ("b", "x"), ("b", "")]
    assert edge_markers(edges, ["a", "b", "c"]) == {
        "a": "(os_name == 'nt') or (sys_platform == 'darwin')",
        "b": "",
        "c": "",
    }


def test_poetry_lock_keeps_private_indexes_and_drops_directories(
    make_project: MakeProject,
) -> None:
    read = read_lock(make_project({"poetry.lock": POETRY_LOCK}), "poetry.lock", "poetry")
    assert deps(read) == [("pandas", "==2.2.2", ""), ("private", "==1.0", "")]
    assert [f.message for f in read.findings] == [
        "poetry.lock: local package local (../local) not installed from the lock"
    ]


def test_poetry_2_lock_markers_per_package(make_project: MakeProject) -> None:
    lock = """\
        [[package]]
        name = "colorama"
        version = "0.4.6"
        groups = ["main"]
        markers = "sys_platform == \\"win32\\""
        [[package]]
        name = "rich"
        version = "13.7.1"
        groups = ["main", "dev"]
        markers = {main = "*", dev = "*"}
        """
    read = read_lock(make_project({"poetry.lock": lock}), "poetry.lock", "poetry")
    assert deps(read) == [
        ("colorama", "==0.4.6", 'sys_platform == "win32"'),
        ("rich", "==13.7.1", ""),
    ]


def test_pipfile_lock(make_project: MakeProject) -> None:
    lock = {
        "_meta": {},
        "default": {
            "numpy": {"version": "==1.26.4"},
            "git-dep": {"git": "https://x", "ref": "abc"},
            "pywin32": {"version": "==306", "markers": "sys_platform == 'win32'"},
            "me": {"editable": True, "path": "."},
        },
        "develop": {"pytest": {"version": "==8.2.0"}},
    }
    read = read_lock(make_project({"Pipfile.lock": json.dumps(lock)}), "Pipfile.lock", "pipenv")
    assert deps(read) == [
        ("numpy", "==1.26.4", ""),
        ("git-dep", "@ git+https://x@abc", ""),
        ("pywin32", "==306", "sys_platform == 'win32'"),
        ("pytest", "==8.2.0", ""),
    ]
    assert read.pins == (
        ("numpy", "1.26.4", "Pipfile.lock"),
        ("pywin32", "306", "Pipfile.lock"),
        ("pytest", "8.2.0", "Pipfile.lock"),
    )
    assert read.findings == ()  # the project itself ("." ) is no news


def test_pdm_lock(make_project: MakeProject) -> None:
    lock = (
        '[[package]]\nname = "rich"\nversion = "13.7.1"\n'
        '[[package]]\nname = "mine"\nversion = "0.1"\neditable = true\n'
    )
    read = read_lock(make_project({"pdm.lock": lock}), "pdm.lock", "pdm")
    assert deps(read) == [("rich", "==13.7.1", "")]


def test_lock_files_in_order_and_pipfile_lock_in_binder(make_project: MakeProject) -> None:
    from dockyard.detect._types import EnvironmentFolder

    view = make_project({"uv.lock": UV_LOCK, "poetry.lock": POETRY_LOCK,
                         "binder/Pipfile.lock": "{}", "Pipfile.lock": "{}"})
    assert lock_files(view) == [("uv.lock", "uv"), ("poetry.lock", "poetry"),
                                ("Pipfile.lock", "pipenv")]
    binder = EnvironmentFolder("binder", "test")
    assert lock_files(view, binder)[-1] == ("binder/Pipfile.lock", "pipenv")


def test_broken_lock_file_is_a_user_error_with_a_relock_hint(make_project: MakeProject) -> None:
    view = make_project({"poetry.lock": "<<<<<<< HEAD\n[[package]]\n"})
    with pytest.raises(UserError) as caught:
        read_lock(view, "poetry.lock", "poetry")
    assert caught.value.message.startswith("poetry.lock: invalid TOML")
    assert "poetry lock" in caught.value.hint
