"""Detector for what the code imports: `.py` files and the code cells of notebooks.

It reports every third-party top-level module with the files importing it, plus the names the
project itself provides (its own modules and folders); the merge step decides which imports no
dependency file declares.
"""

from __future__ import annotations

import ast
import json
import os
import posixpath
import re
import sys
from typing import Any

from dockyard.detect._common import load_data
from dockyard.detect._nbpip import pip_installs
from dockyard.detect._pyscan import classify_source, classify_tree
from dockyard.detect._types import Dependency, Finding, Fragment
from dockyard.project import ProjectView

MAX_PY_BYTES = 1_000_000
MAX_NOTEBOOK_BYTES = 20_000_000
# Cell magics whose body is still Python; the others (%%bash, %%sql, %%writefile, …) are not.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "memit", "debug"})
_HELP = re.compile(r"^[\w.]+\?{1,2}$")  # `np.mean?`, `obj??`
_SHELL_ASSIGN = re.compile(r"^[\w., ]+=\s*[!%]")  # `files = !ls`, `t = %timeit -o f()`
# Files whose imports the project's own code does not need at run time.
TEST_OR_BUILD = "in a test or build script"
_TOOL_FILES = frozenset({"setup.py", "conftest.py", "noxfile.py"})

# required, {optional: why}, finding, what a notebook `pip install`s
Scan = tuple[set[str], dict[str, str], Finding | None, list[Dependency]]


def detect_imports(view: ProjectView) -> Fragment:
    files = list(view.files())
    ignored = _not_distributions()
    pairs: set[tuple[str, str]] = set()
    optional: set[tuple[str, str, str]] = set()
    findings: list[Finding] = []
    installs: list[Dependency] = []
    for rel in files:
        if rel.endswith(".py"):
            required, guarded, finding, installed = _scan_python(view, rel)
        elif rel.endswith(".ipynb"):
            required, guarded, finding, installed = _scan_notebook(view, rel)
        else:
            continue
        if is_test_or_build_file(rel):  # what a test notebook installs, the image needs not
            installed = []
            guarded = {**dict.fromkeys(required, TEST_OR_BUILD), **guarded}
            required = set()
        installs += installed
        pairs.update((m, rel) for m in required if _is_distribution_candidate(m, ignored))
        optional.update(
            (m, rel, why) for m, why in guarded.items() if _is_distribution_candidate(m, ignored)
        )
        findings += [finding] if finding is not None else []
    return Fragment(
        imports=tuple(sorted(pairs)),
        local_modules=local_modules(files),
        findings=tuple(findings),
        optional_imports=tuple(sorted(optional)),
        notebook_installs=tuple(installs),
    )


def is_test_or_build_file(rel: str) -> bool:
    """setup.py, conftest.py, noxfile.py, test_*.py, *_test.py, or anything under tests/."""
    folder, name = posixpath.split(rel)
    return (
        name in _TOOL_FILES
        or (name.startswith("test_") and name.endswith(".py"))
        or name.endswith("_test.py")
        or "tests" in folder.split("/")
    )


def local_modules(files: list[str]) -> tuple[str, ...]:
    """Names the project provides itself: every `.py` file's stem and every folder above one.

    That covers top-level modules, packages with `__init__.py` at any depth, packages under
    `src/`, namespace packages, and helper modules next to a notebook or script (a script's own
    folder is first on sys.path, so `import utils` finds `notebooks/utils.py`).
    """
    names: set[str] = set()
    for rel in files:
        if rel.endswith(".py"):
            names.update(rel[:-3].split("/"))
    return tuple(sorted(name for name in names if name.isidentifier() and name != "__init__"))


def _not_distributions() -> frozenset[str]:
    """Modules no distribution provides: the standard library, also of other Python versions."""
    other_versions = load_data("import_map.toml")["stdlib"]["modules"]
    return frozenset(sys.stdlib_module_names) | {"__future__"} | frozenset(other_versions)


def _is_distribution_candidate(module: str, ignored: frozenset[str]) -> bool:
    # A leading underscore marks a private or interpreter module (`_pytest`, `__pypy__`): it
    # belongs to some other distribution, never one of its own name.
    return module not in ignored and not module.startswith("_")


def _scan_python(view: ProjectView, rel: str) -> Scan:
    if _size(view, rel) > MAX_PY_BYTES:
        return set(), {}, Finding("info", f"{rel}: larger than 1 MB; imports not scanned"), []
    required, optional = classify_source(view.read_text(rel))
    return required, optional, None, []


def _scan_notebook(view: ProjectView, rel: str) -> Scan:
    if _size(view, rel) > MAX_NOTEBOOK_BYTES:
        return set(), {}, Finding("info", f"{rel}: larger than 20 MB; imports not scanned"), []
    try:
        doc = json.loads(view.read_text(rel))
    except json.JSONDecodeError:
        return set(), {}, Finding("info", f"{rel}: not valid notebook JSON; imports not "
                                          "scanned"), []
    language = _language(doc)
    if language and not language.startswith("python"):
        return set(), {}, Finding("info", f"{rel}: a {language} notebook; imports not scanned"), []
    required: set[str] = set()
    optional: dict[str, str] = {}
    failed = 0
    installs: list[Dependency] = []
    for source in _code_cells(doc):
        installs += pip_installs(source, rel)
        code = strip_magics(source)
        try:
            cell_required, cell_optional = classify_tree(ast.parse(code or ""))
        except (SyntaxError, ValueError, RecursionError):
            failed += 1
            continue
        required |= cell_required
        optional.update({m: why for m, why in cell_optional.items() if m not in optional})
    for name in required:  # imported plainly in one cell, guarded in another: required
        optional.pop(name, None)
    finding = None
    if failed:
        finding = Finding(
            "info",
            f"{rel}: {failed} code cell(s) could not be parsed; their imports were not scanned",
        )
    return required, optional, finding, installs


def strip_magics(source: str) -> str | None:
    """A cell's source as plain Python, or None for a cell in another language (%%bash).

    IPython lines (`%magic`, `!shell`, `?help`, `obj?`) become `pass` at the same indentation
    instead of disappearing, so a block holding only `!pip install x` still parses.
    """
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)
        if not magic or magic[0] not in _PYTHON_CELL_MAGICS:
            return None
        lines = lines[1:]
    return "\n".join(_plain(line) for line in lines)


def _plain(line: str) -> str:
    stripped = line.strip()
    if (
        stripped.startswith(("%", "!", "?"))
        or _HELP.match(stripped)
        or _SHELL_ASSIGN.match(stripped)
    ):
        return line[: len(line) - len(line.lstrip())] + "pass"
    return line


def _code_cells(doc: Any) -> list[str]:
    """Code cell sources of nbformat 4 (`cells`) and 3 (`worksheets[].cells`, `input`)."""
    if not isinstance(doc, dict):
        return []
    cells = doc.get("cells")
    if not isinstance(cells, list):
        sheets = doc.get("worksheets")
        cells = (
            [c for s in sheets if isinstance(s, dict) for c in s.get("cells", [])]
            if isinstance(sheets, list)
            else []
        )
    sources = [
        c.get("source", c.get("input", ""))
        for c in cells
        if isinstance(c, dict) and c.get("cell_type") == "code"
    ]
    return ["".join(map(str, s)) if isinstance(s, list) else str(s) for s in sources]


def _language(doc: Any) -> str:
    metadata = doc.get("metadata") if isinstance(doc, dict) else None
    if not isinstance(metadata, dict):
        return ""
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(field), str):
            return str(section[field]).lower()
    return ""


def _size(view: ProjectView, rel: str) -> int:
    return os.path.getsize(os.path.join(view.root, rel))
