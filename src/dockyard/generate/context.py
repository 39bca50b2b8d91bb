"""Everything a build needs besides the Dockerfile: ignore rules, dependency list, runtime files."""

from __future__ import annotations

import hashlib
from importlib import resources

from dockyard.generate.artifacts import Artifact, header
from dockyard.spec import Spec
from dockyard.spec.checks import redact
from dockyard.spec.checks import requirement_name as requirement_name  # used by serving

RUNTIME_DIR = ".dockyard/runtime"
RUNTIME_FILES = ("binder.py", "healthcheck.py", "run_notebook.py")
# JupyterLab settings: no news or update checks from an image that may be offline.
LAB_OVERRIDES = "overrides.json"

# Kept out of every image: secrets, version control, virtualenvs, caches, editor state.
_IGNORED = (
    ".git", ".hg", ".svn", "**/.env", "**/.env.*", "**/*.pem", "**/*.key", "**/id_rsa*",
    ".venv", "venv", "env", "**/__pycache__", "**/*.py[cod]", "**/.ipynb_checkpoints",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", "**/.DS_Store",
    "**/node_modules", ".idea", ".vscode", "dist", "build", "*.egg-info",
    "compose.yaml", "docker-compose.yml", ".dockyard/*.log",
    # What `dockyard run NOTEBOOK` writes by default: a run must not make the image stale.
    "**/*.executed.ipynb", "**/*.executed.html",
)


def dockerignore(spec: Spec, credential_files: tuple[str, ...] = ()) -> str:
    lines = [header().rstrip("\n"), "# Secrets, VCS, virtualenvs and caches never enter an image."]
    lines += list(_IGNORED)
    if credential_files:
        lines.append("# These hold package-index credentials (the build gets them as a secret).")
        lines += [f"/{path}" for path in credential_files]
    lines.append("# Data folders are mounted at run time, never copied into the image.")
    lines += [d.strip("/") for d in spec.data_dirs]
    return "\n".join(lines) + "\n"


def merged_requirements(spec: Spec) -> list[str]:
    """The project's requirements, plus the runtime's for any name the project leaves out."""
    lines = list(spec.requirements)
    names = {requirement_name(line) for line in lines}
    lines += [r for r in spec.runtime_requirements if requirement_name(r) not in names]
    return sorted(lines, key=requirement_name)


def requirements_text(spec: Spec) -> str:
    body = "\n".join(merged_requirements(spec)) + "\n"
    return header() + "# What the image installs when there is no dockyard.lock.\n" + body


def input_digest(spec: Spec) -> str:
    """What a lock is made from: requirements, indexes and Python. A lock is stale when it moves."""
    # Without credentials: a rotated token does not make the lock stale.
    urls = [redact(url) for url in (spec.index_url, *spec.extra_index_urls)]
    parts = [*merged_requirements(spec), *urls, spec.python, spec.package_digest]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def runtime_artifacts() -> list[Artifact]:
    pkg = resources.files("dockyard.runtime")
    files = [Artifact(f"{RUNTIME_DIR}/{name}", header() + pkg.joinpath(name).read_text())
             for name in RUNTIME_FILES]
    # JSON has no comments, so this one carries no header; it lives in dockyard's own folder.
    return [*files, Artifact(f"{RUNTIME_DIR}/{LAB_OVERRIDES}",
                             pkg.joinpath(LAB_OVERRIDES).read_text())]

