"""Small helpers every detector shares: TOML, name normalisation, packaged data, fragments."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from dockyard.detect._types import Fragment
from dockyard.errors import UserError
from dockyard.project import ProjectView

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

_NAME_RUNS = re.compile(r"[-_.]+")
_PYPI = frozenset({"https://pypi.org/simple", "https://pypi.python.org/simple"})


def normalize(name: str) -> str:
    """PEP 503: lowercase, and every run of `-`, `_` and `.` becomes one `-`."""
    return _NAME_RUNS.sub("-", name).lower()


def parse_toml(text: str, file: str, hint: str) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{file}: invalid TOML: {exc}", hint=hint) from exc
    return doc


def read_toml(view: ProjectView, rel: str, hint: str) -> dict[str, Any] | None:
    """The parsed file, or None when it does not exist."""
    if not view.exists(rel):
        return None
    return parse_toml(view.read_text(rel), rel, hint)


def table(doc: Any, *keys: str) -> dict[str, Any]:
    """The nested table at `keys`, or {} when any level is missing or not a table.

    User files are untyped; a wrong type is treated like a missing key rather than a crash.
    """
    for key in keys:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc if isinstance(doc, dict) else {}


def strings(value: Any) -> list[str]:
    """The string items of a list (other items are ignored), or [] for anything else."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


@cache
def load_data(name: str) -> dict[str, Any]:
    """A TOML file shipped in `dockyard/data`. Cached: package data never changes at run time.

    Callers must treat the result as read-only.
    """
    text = resources.files("dockyard").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return parse_toml(text, name, "reinstall dockyard: its package data is damaged")


def is_default_index(url: str) -> bool:
    """True for PyPI itself, which needs no --index-url."""
    return url.rstrip("/") in _PYPI


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items without duplicates, first occurrence kept (order can matter, e.g. for indexes)."""
    return tuple(dict.fromkeys(items))


def concat(*fragments: Fragment) -> Fragment:
    """One fragment holding everything of several, in order; the first index URL wins.

    Used by detectors that read one file in several independent parts (pyproject.toml's
    standard tables, Poetry, PDM, uv). Conflicts between parts are the parts' own business.
    """
    return Fragment(
        python=tuple(p for f in fragments for p in f.python),
        dependencies=tuple(d for f in fragments for d in f.dependencies),
        pins=tuple(p for f in fragments for p in f.pins),
        index_url=next((f.index_url for f in fragments if f.index_url), ""),
        extra_index_urls=unique(u for f in fragments for u in f.extra_index_urls),
        imports=tuple(i for f in fragments for i in f.imports),
        local_modules=tuple(m for f in fragments for m in f.local_modules),
        system_packages=tuple(s for f in fragments for s in f.system_packages),
        data_dirs=tuple(d for f in fragments for d in f.data_dirs),
        notebooks=tuple(n for f in fragments for n in f.notebooks),
        models=tuple(m for f in fragments for m in f.models),
        findings=tuple(x for f in fragments for x in f.findings),
        optional_imports=tuple(o for f in fragments for o in f.optional_imports),
        post_build=next((f.post_build for f in fragments if f.post_build), ""),
        start=next((f.start for f in fragments if f.start), ""),
    )
