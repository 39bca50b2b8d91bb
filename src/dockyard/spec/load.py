"""Parse and validate the user's spec, collecting every problem with its key path."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from dockyard.errors import SpecError
from dockyard.project import ProjectView
from dockyard.spec.checks import CUSTOM_TYPES, redact
from dockyard.spec.deploy import CUSTOM_TYPES as DEPLOY_TYPES
from dockyard.spec.model import UserSpec
from dockyard.spec.patterns import WORDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

SPEC_FILE = "dockyard.toml"
SUPPORTED_VERSIONS = (1,)

# pydantic's error types, said the way a person reads a TOML file.
_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number",
    "string_type": "a string", "bool_type": "true or false", "bool_parsing": "true or false",
    "list_type": "a list", "model_type": "a table", "dict_type": "a table",
}


@dataclass(frozen=True)
class LoadedSpec:
    spec: UserSpec
    file: str  # "dockyard.toml", "pyproject.toml [tool.dockyard]", or "" when none exists


def load_spec(view: ProjectView) -> LoadedSpec:
    """Read dockyard.toml, else [tool.dockyard] from pyproject.toml, else an empty spec."""
    if view.exists(SPEC_FILE):
        return LoadedSpec(parse_spec(_read_toml(view, SPEC_FILE), SPEC_FILE), SPEC_FILE)
    if view.exists("pyproject.toml"):
        tool = _read_toml(view, "pyproject.toml").get("tool", {})
        if not isinstance(tool, dict):
            raise SpecError("pyproject.toml", [f"tool: expected a table, got {_toml_repr(tool)}"],
                            hint="make `tool` a table ([tool.<name>] sections), or remove it")
        table = tool.get("dockyard")
        name = "pyproject.toml [tool.dockyard]"
        if isinstance(table, dict):
            return LoadedSpec(parse_spec(table, name), name)
        if table is not None:
            raise SpecError(name, [f"tool.dockyard: expected a table, got {_toml_repr(table)}"],
                            hint="write the spec as a [tool.dockyard] table, or remove the key")
    return LoadedSpec(UserSpec(), "")


def _read_toml(view: ProjectView, rel: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(view.read_text(rel))
        return data
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(rel, [f"invalid TOML: {exc}"], hint=f"fix the syntax of {rel}") from None


def parse_spec(data: dict[str, Any], file: str) -> UserSpec:
    """Validate a raw table; every problem names its key and the expected type."""
    version = data.get("version", 1)
    if version not in SUPPORTED_VERSIONS:
        raise SpecError(file, [f"version: unsupported spec version {version!r} (this dockyard "
                               f"reads version {', '.join(map(str, SUPPORTED_VERSIONS))})"])
    try:
        return UserSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(file, [_describe(err) for err in exc.errors()]) from None


def _describe(err: Any) -> str:
    key = ".".join(str(part) for part in err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}'"
    got = err.get("input")
    if kind in CUSTOM_TYPES | DEPLOY_TYPES:  # already said for a person (dockyard.spec.checks)
        return f"{key}: {err['msg']}, got {_toml_repr(got)}"
    if kind in _EXPECTED:
        return f"{key}: expected {_EXPECTED[kind]}, got {_toml_repr(got)}"
    if kind == "string_pattern_mismatch" and err["ctx"]["pattern"] in WORDS:
        return f"{key}: expected {WORDS[err['ctx']['pattern']]}, got {_toml_repr(got)}"
    return f"{key}: {err['msg'].lower()}, got {_toml_repr(got)}"


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # One line whatever the value holds (a newline is shown as \n); credentials masked.
        shown = json.dumps(redact(value) if "@" in value else value, ensure_ascii=False)
        return shown if len(shown) <= 80 else shown[:76] + '..."'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)
