"""detect(): every detector runs; duplicates, conflicts and pins merge deterministically."""

from __future__ import annotations

import json
import time
from pathlib import Path

import dockyard.detect
from dockyard.detect import Dependency, Detection, detect
from dockyard.detect._merge import ListedView
from dockyard.project import ProjectView
from tests.unit.detect.conftest import MakeProject, notebook


def deps_of(det: Detection) -> dict[str, Dependency]:
    return {d.name: d for d in det.dependencies}


def warnings_of(det: Detection) -> list[str]:
    return [f.message for f in det.findings if f.severity == "warning"]


def test_public_api_is_curated() -> None:
    assert sorted(dockyard.detect.__all__) == [
        "Dependency",
        "Detection",
        "EnvironmentFolder",
        "Finding",
        "Fragment",
        "Gpu",
        "OptionalImport",
        "PythonChoice",
        "UndeclaredImport",
        "detect",
        "is_known",
    ]


def test_duplicates_keep_the_first_file_and_warn_on_conflict(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "requirements.txt": "numpy==1.26.4\npandas\n",
                "requirements-dev.txt": "numpy>=2\npandas>=2.1\n",
            }
        )
    )
    deps = deps_of(det)
    assert (deps["numpy"].specifier, deps["numpy"].source) == ("==1.26.4", "requirements.txt")
    assert warnings_of(det) == [
        "numpy: requirements.txt says ==1.26.4 but requirements-dev.txt says >=2; using ==1.26.4",
    ]


def test_one_ecosystem_wins_and_the_others_are_named(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "requirements.txt": "numpy==1.26.4\npandas\n",
                "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.12"\n'
                'dependencies = ["numpy>=2", "pandas>=2.1"]\n',
                "environment.yml": "dependencies: [numpy=1.26]\n",
                "Pipfile": '[packages]\nrequests = "*"\n',
            }
        )
    )
    assert [(d.name, d.specifier, d.source) for d in det.dependencies] == [
        ("numpy", "==1.26.*", "environment.yml")
    ]
    assert warnings_of(det)[0] == (
        "dependencies from environment.yml (conda); not used: Pipfile, requirements.txt, "
        "pyproject.toml"
    )
    assert det.python.source == "pyproject.toml"  # a losing file's Python hint still counts


def test_requirements_beat_pyproject_and_pipfile_beats_requirements(
    make_project: MakeProject,
) -> None:
    files = {
        "requirements.txt": "numpy\n",
        "pyproject.toml": '[project]\nname = "x"\ndependencies = ["pandas"]\n',
    }
    det = detect(make_project(files))
    assert [d.source for d in det.dependencies] == ["requirements.txt"]
    assert "not used: pyproject.toml" in warnings_of(det)[0]
    det = detect(make_project({"Pipfile": '[packages]\nrich = "*"\n'}))
    assert [d.name for d in det.dependencies] == ["rich"]


def test_a_requirements_file_included_by_environment_yml_is_part_of_it(
    make_project: MakeProject,
) -> None:
    det = detect(
        make_project(
            {
                "environment.yml": "dependencies:\n  - numpy\n  - pip:\n"
                "    - -r requirements.txt\n",
                "requirements.txt": "rich\n",
            }
        )
    )
    assert [d.name for d in det.dependencies] == ["numpy", "rich"]
    assert warnings_of(det) == []


def test_an_empty_specifier_is_no_opinion(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "requirements.txt": "pandas[excel]\n",
                "requirements-extra.txt": "pandas[plot]>=2.1\n",
            }
        )
    )
    pandas = deps_of(det)["pandas"]
    assert (pandas.specifier, pandas.source, pandas.extras) == (
        ">=2.1",
        "requirements-extra.txt",
        ("excel", "plot"),
    )
    assert warnings_of(det) == []


def test_a_lock_is_installed_as_locked_not_merged(make_project: MakeProject) -> None:
    lock = """\
        [[package]]
        name = "numpy"
        version = "1.26.4"
        [[package]]
        name = "pandas"
        version = "2.2.2"
        [[package]]
        name = "tzdata"
        version = "2024.1"
        """
    det = detect(
        make_project(
            {
                "pyproject.toml": """\
            [project]
            name = "x"
            dependencies = ["numpy>=1.20", "pandas<2", "rich"]
            """,
                "poetry.lock": lock,
            }
        )
    )
    assert [(d.name, d.specifier, d.source) for d in det.dependencies] == [
        ("numpy", "==1.26.4", "poetry.lock"),
        ("pandas", "==2.2.2", "poetry.lock"),
        ("tzdata", "==2024.1", "poetry.lock"),
    ]
    assert det.pins == (
        ("numpy", "1.26.4", "poetry.lock"),
        ("pandas", "2.2.2", "poetry.lock"),
        ("tzdata", "2024.1", "poetry.lock"),
    )
    infos = [f.message for f in det.findings if f.message.startswith("poetry.lock")]
    assert infos == [
        "poetry.lock: 3 packages installed as locked (the source of truth for poetry; "
        "the manifest's list is not merged in)"
    ]


def test_first_lock_file_wins(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "pyproject.toml": '[project]\nname = "x"\ndependencies = ["rich"]\n',
                "uv.lock": '[[package]]\nname = "rich"\nversion = "13.7.1"\n',
                "pdm.lock": '[[package]]\nname = "rich"\nversion = "13.0.0"\n',
            }
        )
    )
    assert deps_of(det)["rich"].specifier == "==13.7.1"
    assert "pdm.lock not used: uv.lock is the lock file installed" in warnings_of(det)


def test_undeclared_imports_end_to_end(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "requirements.txt": "pandas\nopencv-python\n",
                "analysis.ipynb": notebook("import pandas, cv2\nimport sklearn\nimport helpers\n"),
                "helpers.py": "import yaml\nfrom PIL import Image\nimport os\n",
                "src/pkg/__init__.py": "from pkg import sub\nimport IPython\n",
            }
        )
    )
    assert [(u.module, u.distribution, u.files) for u in det.undeclared_imports] == [
        ("PIL", "pillow", ("helpers.py",)),
        ("sklearn", "scikit-learn", ("analysis.ipynb",)),
        ("yaml", "pyyaml", ("helpers.py",)),
    ]


def test_no_dependency_file_is_an_info_finding(make_project: MakeProject) -> None:
    det = detect(make_project({"main.py": "import requests\n"}))
    assert [(f.severity, f.message) for f in det.findings] == [
        ("info", "no dependency file found; dependencies come from imports only")
    ]
    assert det.undeclared_imports[0].distribution == "requests"


def test_an_empty_requirements_file_still_counts(make_project: MakeProject) -> None:
    assert detect(make_project({"requirements.txt": "# nothing\n"})).findings == ()


def test_index_urls_merge_across_files(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "requirements.txt": "--extra-index-url https://a.example/simple\nx\n",
                "Pipfile": '[[source]]\nurl = "https://b.example/simple"\n[[source]]\n'
                'url = "https://a.example/simple"\n[packages]\ny = "*"\n',
            }
        )
    )
    assert det.index_url == "https://b.example/simple"
    assert det.extra_index_urls == ("https://a.example/simple",)


def test_data_folders_are_not_scanned(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "requirements.txt": "numpy\n",
                "data/loader.py": "import not_scanned\n",
                "data/cache.pkl": "",
            }
        )
    )
    assert det.undeclared_imports == ()
    assert det.data_dirs == ("data",)
    assert det.models == ()


FULL_PROJECT = {
    "requirements.txt": "numpy==1.26.4\ntorch\n"
    "--extra-index-url https://download.pytorch.org/whl/cu121\n",
    "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.10"\n'
    'dependencies = ["numpy>=2"]\n',
    "environment.yml": "dependencies: [python=3.11, cudatoolkit, scikit-learn, pytorch, numpy]\n",
    "apt.txt": "libgl1\nffmpeg\n",
    "b.py": "import zzz, aaa, sklearn, cv2\n",
    "a.ipynb": notebook("import seaborn\n"),
    "models/m.pkl": "",
    "data/x.csv": "",
}


def test_detection_is_deterministic(make_project: MakeProject, tmp_path: Path) -> None:
    first = json.dumps(detect(make_project(FULL_PROJECT)).to_json(), sort_keys=False)
    second = json.dumps(detect(ProjectView.open(tmp_path)).to_json(), sort_keys=False)
    assert first == second
    doc = json.loads(first)
    assert [u["module"] for u in doc["undeclared_imports"]] == ["aaa", "cv2", "seaborn", "zzz"]
    assert doc["system_packages"] == ["ffmpeg", "libgl1"]
    assert doc["gpu"] == {"wanted": True, "frameworks": ["torch"]}
    assert [d["name"] for d in doc["dependencies"]] == ["numpy", "scikit-learn", "torch"]


def test_findings_are_ordered_by_severity(make_project: MakeProject) -> None:
    severities = [f.severity for f in detect(make_project(FULL_PROJECT)).findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)


def test_a_few_thousand_files_take_well_under_a_second(tmp_path: Path) -> None:
    body = "import os\nimport numpy as np\nfrom pandas import DataFrame\n" + "x = 1\n" * 100
    for package in range(20):  # 500 modules, 1,500 other files: 2,000 in all
        folder = tmp_path / f"pkg{package}"
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        for module in range(25):
            (folder / f"m{module}.py").write_text(body)
            (folder / f"d{module}.csv").touch()
    (tmp_path / "data").mkdir()
    for index in range(1000):
        (tmp_path / "data" / f"{index}.csv").touch()
    start = time.perf_counter()
    det = detect(ProjectView.open(tmp_path))
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"{elapsed:.2f}s"
    assert [u.module for u in det.undeclared_imports] == ["numpy", "pandas"]


def test_listing_skips_vcs_virtualenvs_data_and_symlinks(
    make_project: MakeProject, tmp_path: Path
) -> None:
    view = make_project(
        {
            "a.py": "",
            "pkg/b.py": "",
            ".git/config": "",
            "myenv/pyvenv.cfg": "",
            "myenv/lib/site.py": "",
            "data/c.py": "",
            "Datasets/d.py": "",
            "src/data/e.py": "",
        }
    )
    (tmp_path / "link.py").symlink_to(tmp_path / "a.py")
    assert ListedView.of(view).listing == ("a.py", "pkg/b.py", "src/data/e.py")


def test_listing_cap_is_reported(make_project: MakeProject) -> None:
    view = make_project({f"m{i}.py": "" for i in range(5)})
    listed = ListedView.of(view, max_files=3)
    assert (len(listed.listing), listed.truncated) == (3, True)
    assert not ListedView.of(view, max_files=5).truncated


def test_two_primary_indexes_warn_without_leaking_tokens(make_project: MakeProject) -> None:
    det = detect(
        make_project(
            {
                "requirements.txt": "-i https://me:s3cret@a.example/simple\nx\n",
                "requirements-dev.txt": "-i https://b.example/simple\ny\n",
            }
        )
    )
    assert det.index_url == "https://me:s3cret@a.example/simple"
    assert warnings_of(det) == [
        "requirements-dev.txt:1: second --index-url https://b.example/simple ignored; "
        "using https://me:***@a.example/simple"
    ]
