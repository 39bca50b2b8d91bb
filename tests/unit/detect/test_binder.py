"""Binder conventions: binder/ or .binder/ replaces the root, postBuild, start, R and Julia."""

from __future__ import annotations

from dockyard.detect import detect
from dockyard.detect._python import detect_python_files
from tests.unit.detect.conftest import MakeProject


def test_binder_folder_wins_and_an_invalid_root_file_is_not_read(
    make_project: MakeProject,
) -> None:
    det = detect(
        make_project(
            {
                "binder/requirements.txt": "six>=1.16\n",
                "binder/apt.txt": "libgl1\n",
                "environment.yml": "dependencies: [numpy\n",
                "requirements.txt": "pandas\n",
                "apt.txt": "curl\n",
            }
        )
    )
    assert det.environment.folder == "binder"
    assert "as on Binder" in det.environment.reason
    assert [(d.name, d.source) for d in det.dependencies] == [("six", "binder/requirements.txt")]
    assert det.system_packages == ("libgl1",)
    infos = [f.message for f in det.findings if f.severity == "info"]
    assert (
        "binder/ holds the environment files (as on Binder); not read at the root: "
        "requirements.txt, environment.yml, apt.txt" in infos
    )


def test_dot_binder_is_used_and_binder_wins_over_it(make_project: MakeProject) -> None:
    det = detect(make_project({".binder/environment.yml": "dependencies: [numpy]\n"}))
    assert det.environment.folder == ".binder"
    assert det.dependencies[0].source == ".binder/environment.yml"
    both = detect(make_project({"binder/requirements.txt": "six\n"}))
    assert both.environment.folder == "binder"
    assert any("both binder/ and .binder/" in f.message for f in both.findings)


def test_without_a_binder_folder_the_root_is_used(make_project: MakeProject) -> None:
    det = detect(make_project({"requirements.txt": "six\n", "postBuild": "echo hi\n"}))
    assert det.environment.folder == ""
    assert "no binder/" in det.environment.reason
    assert (det.post_build, det.start) == ("postBuild", "")


def test_post_build_and_start_in_the_binder_folder(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "binder/postBuild": "pip install x\n",
                "binder/start": 'exec "$@"\n',
                "postBuild": "ignored at the root\n",
            }
        )
    )
    assert (det.post_build, det.start) == ("binder/postBuild", "binder/start")
    doc = det.to_json()
    assert doc["environment"]["folder"] == "binder"
    assert (doc["post_build"], doc["start"]) == ("binder/postBuild", "binder/start")


def test_r_and_julia_files_are_named_as_unsupported(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "binder/install.R": "install.packages('x')\n",
                "binder/runtime.txt": "r-2023-01-01\n",
                "DESCRIPTION": "Package: x\n",
                "Project.toml": "[deps]\n",
            }
        )
    )
    warnings = [f.message for f in det.findings if f.severity == "warning"]
    assert warnings == [
        "binder/install.R: R environments are not supported; nothing from it is installed",
        "DESCRIPTION: R environments are not supported; nothing from it is installed",
        "Project.toml: Julia environments are not supported; nothing from it is installed",
        "binder/runtime.txt: R environments are not supported; nothing from it is installed",
    ]
    assert det.python.source == "default"


def test_runtime_txt_python_3_x_and_python_3(make_project: MakeProject) -> None:
    det = detect(make_project({"binder/runtime.txt": "python-3.12\n"}))
    assert (det.python.version, det.python.source) == ("3.12", "binder/runtime.txt")
    plain = detect_python_files(make_project({"runtime.txt": "python-3\n"}))
    assert plain.python == () and plain.findings == ()


def test_runtime_txt_in_binder_ranks_like_runtime_txt(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "binder/runtime.txt": "python-3.10\n",
                "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.9"\n',
            }
        )
    )
    assert (det.python.version, det.python.source) == ("3.10", "binder/runtime.txt")
