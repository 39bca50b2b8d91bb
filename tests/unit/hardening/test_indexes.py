"""Issue 8 items 2 and 6: index credentials never reach a RUN line or an argv, and uv's guard
against dependency confusion stays on except for PyTorch's wheel indexes, the same in `lock`
and in the build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dockyard import lock as lock_module
from dockyard.app.context import Project, load_project
from dockyard.engine.runner import Result
from dockyard.generate import build_artifacts, indexes_for, render_dockerfile, view_for

TOKEN = "s3cr3t-T0KEN-4f9a"
REPO = Path(__file__).resolve().parents[3]


def project_with(root: Path, requirements: str, files: dict[str, str] | None = None) -> Project:
    root.mkdir(exist_ok=True)
    (root / "requirements.txt").write_text(requirements)
    for rel, text in (files or {}).items():
        (root / rel).write_text(text)
    return load_project(root)


def lock_call(project: Project, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str],
                                                                         dict[str, str]]:
    seen: dict[str, object] = {}

    class Recorder:  # the process runner, recording uv's argv and environment
        def run(self, argv: list[str], **kwargs: object) -> Result:
            if argv[1:3] == ["cache", "prune"]:
                return Result(tuple(argv), 0, "", "")
            seen["argv"], seen["env"] = argv, kwargs["env"]
            Path(argv[argv.index("-o") + 1]).write_text("six==1.16.0 \\\n    --hash=sha256:x\n")
            return Result(tuple(argv), 0, "", "")

    monkeypatch.setattr(lock_module, "ProcessRunner", Recorder)
    lock_module.lock(project.root, project.spec, None)
    return seen["argv"], seen["env"]  # type: ignore[return-value]


def test_a_private_extra_index_keeps_uvs_first_index_guard(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_with(tmp_path / "p",
                           "--extra-index-url https://pkgs.example.org/simple\nacme-lib\n")
    dockerfile = render_dockerfile(view_for(project.spec))
    assert "--extra-index-url https://pkgs.example.org/simple" in dockerfile
    assert "unsafe-best-match" not in dockerfile
    _, env = lock_call(project, monkeypatch)
    assert env["UV_INDEX_STRATEGY"] == "first-index"
    assert env["UV_EXTRA_INDEX_URL"] == "https://pkgs.example.org/simple"


def test_torch_index_alone_gets_best_match_in_lock_and_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_with(tmp_path / "p", "torch\n", {"train.py": "import torch\n"})
    dockerfile = render_dockerfile(view_for(project.spec))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in dockerfile
    assert "--index-strategy unsafe-best-match" in dockerfile
    argv, env = lock_call(project, monkeypatch)
    assert env["UV_INDEX_STRATEGY"] == "unsafe-best-match"
    assert env["UV_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"  # as the build
    assert not any("pytorch" in a for a in argv)


def test_torch_plus_a_private_index_is_not_best_match(tmp_path: Path) -> None:
    project = project_with(tmp_path / "p",
                           "--extra-index-url https://pkgs.example.org/simple\ntorch\n",
                           {"train.py": "import torch\n"})
    indexes = indexes_for(project.spec)
    assert indexes.extra_urls[-1] == "https://download.pytorch.org/whl/cpu"
    assert not indexes.best_match
    # A look-alike host is not PyTorch's index.
    project = project_with(tmp_path / "q",
                           "--extra-index-url https://download.pytorch.org.evil.example/whl\n")
    assert not indexes_for(project.spec).best_match


def test_credentialed_index_is_a_build_secret_not_a_run_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_with(tmp_path / "p",
                           f"--index-url https://user:{TOKEN}@pypi.example.org/simple\nsix\n",
                           {"notes.md": "nothing secret\n"})
    artifacts = {a.path: a.content for a in build_artifacts(
        project.spec, credential_files=project.credential_files())}
    dockerfile = artifacts["Dockerfile"]
    assert TOKEN not in dockerfile and "pypi.example.org" not in dockerfile
    assert "--mount=type=secret,id=uv_index" in dockerfile
    assert ". /run/secrets/uv_index" in dockerfile
    assert all(TOKEN not in text for text in artifacts.values())
    hadolint = Path(sys.executable).parent / "hadolint"
    (tmp_path / "Dockerfile").write_text(dockerfile)
    linted = subprocess.run([str(hadolint), "--config", str(REPO / ".hadolint.yaml"),
                             str(tmp_path / "Dockerfile")], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    # The file holding the token never enters the build context, so not the image either.
    assert project.credential_files() == ("requirements.txt",)
    assert "\n/requirements.txt\n" in artifacts[".dockerignore"]
    assert project.index_secrets() == (
        ("uv_index", f"UV_INDEX_URL=https://user:{TOKEN}@pypi.example.org/simple\n"),)
    argv, env = lock_call(project, monkeypatch)
    assert not any(TOKEN in a for a in argv)
    assert TOKEN in env["UV_INDEX_URL"]
    assert TOKEN not in (project.root / "dockyard.lock").read_text()


def test_final_copy_leaves_out_dockyards_build_files(tmp_path: Path) -> None:
    project = project_with(tmp_path / "p", "six\n")
    dockerfile = render_dockerfile(view_for(project.spec))
    assert "COPY . /workspace/" not in dockerfile
    assert "COPY --from=code /src/ /workspace/" in dockerfile
    assert "rm -rf /src/.dockyard" in dockerfile
    assert 'if grep -qs "generated by dockyard" /src/Dockerfile; then rm -f /src/Dockerfile' \
        in dockerfile
