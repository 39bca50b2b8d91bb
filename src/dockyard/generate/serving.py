"""What a serving image needs besides the lab image's files: its requirements and the server.

The server (`runtime/serve/dockyard_serve`) is copied into the build context as plain Python.
Its own few requirements join the project's; the model's library is pinned to the version the
model was saved with, and a project that asks for another version is refused at build time.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable

from packaging.requirements import Requirement

from dockyard.errors import UserError
from dockyard.generate.artifacts import Artifact, header
from dockyard.generate.context import requirement_name
from dockyard.generate.dockerfile import SERVE_REQUIREMENTS_FILE, SERVE_RUNTIME_DIR
from dockyard.spec import Spec

SERVER_PACKAGE = "dockyard_serve"
# Not needed to answer requests: JupyterLab and the notebook runner stay in the lab image.
_LAB_ONLY = {"ipykernel", "jupyter-server", "jupyterlab", "nbclient", "nbconvert", "nbformat",
             "papermill"}


def server_requirements() -> list[str]:
    text = resources.files("dockyard.runtime").joinpath("serve/requirements.txt").read_text()
    return [ln.split("  #")[0].strip() for ln in text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def serve_requirements(spec: Spec, model_pins: list[str], model_path: str) -> list[str]:
    """Project + runtime (minus lab-only) + server requirements, with the model's pins winning."""
    lines: dict[str, str] = {}
    for line in [*spec.requirements, *spec.runtime_requirements, *server_requirements()]:
        name = requirement_name(line)
        if name not in _LAB_ONLY:
            lines.setdefault(name, line)
    for pin in model_pins:
        name = requirement_name(pin)
        declared = lines.get(name)
        if declared is not None:
            _check_compatible(declared, pin, model_path)
        lines[name] = pin
    return [lines[name] for name in sorted(lines)]


def _check_compatible(declared: str, pin: str, model_path: str) -> None:
    """A model loads reliably only with the library version that saved it: refuse a clash."""
    wanted = Requirement(pin)
    have = Requirement(declared)
    versions = [s.version for s in wanted.specifier if s.operator == "=="]
    if versions and have.specifier and not have.specifier.contains(versions[0], prereleases=True):
        raise UserError(
            f"{model_path} was saved with {wanted.name} {versions[0]}, but the project asks for "
            f"{declared}",
            hint=f"declare {wanted.name}=={versions[0]}, or save the model again with the "
                 "declared version")


def serve_artifacts(requirements: list[str]) -> list[Artifact]:
    body = "\n".join(requirements) + "\n"
    files = [Artifact(SERVE_REQUIREMENTS_FILE,
                      header() + "# What the serving image installs.\n" + body)]
    root = resources.files("dockyard.runtime").joinpath("serve").joinpath(SERVER_PACKAGE)
    files += [Artifact(f"{SERVE_RUNTIME_DIR}/{SERVER_PACKAGE}/{rel}", header() + text)
              for rel, text in _python_files(root, "")]
    return files


def _python_files(folder: Traversable, prefix: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir() and entry.name != "__pycache__":
            found += _python_files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".py"):
            found.append((f"{prefix}{entry.name}", entry.read_text()))
    return found
