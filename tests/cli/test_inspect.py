"""`dockyard inspect` on folders people really have: Binder repos, mixed tools, optional imports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import run_dockyard

BINDER = Path(__file__).resolve().parents[1] / "golden" / "binder" / "project"


def test_binder_repo_says_which_folder_and_why(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(BINDER, root)
    ran = run_dockyard("-C", str(root), "inspect", "--json")
    assert ran.code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert doc["environment"] == {
        "folder": "binder",
        "reason": "binder/ exists: as on Binder, it holds the environment files and the "
        "root's are not read",
    }
    assert (doc["post_build"], doc["start"]) == ("binder/postBuild", "binder/start")
    text = run_dockyard("-C", str(root), "inspect")
    assert text.code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[2].startswith("environment  binder/  (binder/ exists: as on Binder")
    assert "postBuild binder/postBuild" in lines
    assert "start     binder/start" in lines
    assert "info: binder/ holds the environment files (as on Binder); not read at the root: " \
        "environment.yml" in lines


def test_mixed_tools_optional_imports_and_conda_only(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "environment.yml").write_text("dependencies: [python=3.11, pandas, xeus-cling]\n")
    (root / "requirements.txt").write_text("numpy\n")
    (root / "model.py").write_text(
        "import pandas\ntry:\n    import Fr\nexcept ImportError:\n    from pylal import Fr\n")
    ran = run_dockyard("-C", str(root), "inspect", "--json")
    assert ran.code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert [d["name"] for d in doc["dependencies"]] == ["pandas"]
    assert [o["module"] for o in doc["optional_imports"]] == ["Fr", "pylal"]
    assert doc["spec"]["requirements"][0] == "pandas"
    assert not any("pylal" in r or r == "fr" for r in doc["spec"]["requirements"])
    messages = [f["message"] for f in doc["findings"]]
    assert "conda-only package xeus-cling has no PyPI distribution; skipped" in messages
    assert "dependencies from environment.yml (conda); not used: requirements.txt" in messages


def test_json_masks_the_credentials_of_index_urls(tmp_path: Path) -> None:
    """`inspect --json` goes to terminals and CI logs: a token in an index URL does not."""
    (tmp_path / "requirements.txt").write_text(
        "--index-url https://bob:s3cret@pypi.example.org/simple\n"
        "--extra-index-url https://glpat-T0KEN@gitlab.example.org/api/v4/projects/1/packages/pypi/simple\n"
        "pandas\n")
    ran = run_dockyard("-C", str(tmp_path), "inspect", "--json")
    assert ran.code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    assert doc["index_url"] == "https://bob:***@pypi.example.org/simple"
    assert doc["extra_index_urls"] == [
        "https://***@gitlab.example.org/api/v4/projects/1/packages/pypi/simple"]
    assert "s3cret" not in ran.stdout + ran.stderr and "T0KEN" not in ran.stdout + ran.stderr
