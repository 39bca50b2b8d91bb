"""Binder's conventions: the `binder/` (or `.binder/`) folder, `postBuild`, `start`, R and Julia.

On Binder (repo2docker), a `binder/` or `.binder/` folder replaces the project root as the place
environment files are read from: with one present, a root `environment.yml` is not even opened.
dockyard does the same, so a repository written for Binder builds as it does there. Package
metadata (pyproject.toml, setup.py and their lock files) stays at the root: it describes the
project, not its environment.
"""

from __future__ import annotations

from dockyard.detect._types import EnvironmentFolder, Finding, Fragment
from dockyard.project import ProjectView

FOLDERS = ("binder", ".binder")
# Files a Binder folder takes over from the root.
ENVIRONMENT_FILES = (
    "requirements.txt",
    "environment.yml",
    "environment.yaml",
    "Pipfile",
    "Pipfile.lock",
    "runtime.txt",
    "apt.txt",
    "postBuild",
    "start",
)
# Environment files of other languages: found, named, not installed.
OTHER_LANGUAGES = {
    "install.R": "R",
    "DESCRIPTION": "R",
    "Project.toml": "Julia",
    "Manifest.toml": "Julia",
    "REQUIRE": "Julia",
}


def environment_folder(view: ProjectView) -> tuple[EnvironmentFolder, list[Finding]]:
    """The Binder folder when there is one (binder/ before .binder/), else the root."""
    present = [name for name in FOLDERS if view.is_dir(name)]
    if not present:
        return EnvironmentFolder(), []
    chosen = EnvironmentFolder(
        present[0],
        f"{present[0]}/ exists: as on Binder, it holds the environment files and the "
        "root's are not read",
    )
    findings = [_ignored_at_root(view, chosen)] if _root_files(view) else []
    if len(present) > 1:
        findings.append(
            Finding(
                "warning",
                "both binder/ and .binder/ exist; using binder/, .binder/ is not read",
                hint="keep one of them (Binder itself refuses a repository with both)",
            )
        )
    return chosen, findings


def detect_binder(view: ProjectView, env: EnvironmentFolder) -> Fragment:
    """postBuild and start in the environment folder; R and Julia files as findings."""
    post_build = env.path("postBuild")
    start = env.path("start")
    return Fragment(
        post_build=post_build if view.exists(post_build) else "",
        start=start if view.exists(start) else "",
        findings=tuple(_other_languages(view, env)),
    )


def _root_files(view: ProjectView) -> list[str]:
    return [name for name in ENVIRONMENT_FILES if view.exists(name)]


def _ignored_at_root(view: ProjectView, env: EnvironmentFolder) -> Finding:
    return Finding(
        "info",
        f"{env.folder}/ holds the environment files (as on Binder); not read at the root: "
        f"{', '.join(_root_files(view))}",
        hint=f"move them into {env.folder}/ if they are meant to be used",
    )


def _other_languages(view: ProjectView, env: EnvironmentFolder) -> list[Finding]:
    found: list[tuple[str, str]] = []
    for name, language in OTHER_LANGUAGES.items():
        for rel in dict.fromkeys((env.path(name), name)):
            if view.exists(rel):
                found.append((rel, language))
    runtime = env.path("runtime.txt")
    if view.exists(runtime) and view.read_text(runtime).strip().lower().startswith("r-"):
        found.append((runtime, "R"))
    return [_unsupported(rel, language) for rel, language in found]


def _unsupported(rel: str, language: str) -> Finding:
    return Finding(
        "warning",
        f"{rel}: {language} environments are not supported; nothing from it is installed",
        hint=f"dockyard builds Python images; for {language} use repo2docker, or install "
        "what you need from postBuild",
    )
