"""A setuptools package's own dependencies: `install_requires` of setup.cfg or setup.py.

The common declarative layout (a pyproject.toml with only `[build-system]`, the metadata in
setup.cfg) has no `[project] dependencies`: without this, the package was installed without
the dependencies it needs. setup.cfg's `[options] install_requires` is read as setuptools reads
it, one requirement per line. setup.py is code that `inspect` does not run: its call's
`install_requires` is read when it is a literal list, or a name bound once to one
(`REQUIRED = [...]`); a computed list is left to the resolver, which reads a setup.py package
through its build backend (`lock.compile_pins`).
"""

from __future__ import annotations

import ast
import configparser

from dockyard.detect._reqlines import to_dependency
from dockyard.detect._types import Dependency, Finding, Fragment
from dockyard.project import ProjectView

_HINT = "fix setup.py, or list the dependencies in requirements.txt"


def setuptools_requirements(view: ProjectView) -> Fragment:
    """setup.cfg's list, else setup.py's; an empty fragment when neither declares one."""
    if view.exists("setup.cfg"):
        found = _from_cfg(view)
        if found is not None:
            return found
    return _from_setup_py(view) if view.exists("setup.py") else Fragment()


def _from_cfg(view: ProjectView) -> Fragment | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(view.read_text("setup.cfg"))
    except configparser.Error:
        return Fragment(findings=(Finding("warning", "setup.cfg: not a valid INI file; its "
                                          "install_requires were not read",
                                          hint="fix setup.cfg"),))
    text = parser.get("options", "install_requires", fallback=None)
    if text is None:
        return None
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    return _fragment([line for line in lines if line], "setup.cfg")


def _from_setup_py(view: ProjectView) -> Fragment:
    try:
        tree = ast.parse(view.read_text("setup.py"))
    except (SyntaxError, ValueError, RecursionError):
        return Fragment(findings=(Finding("warning", "setup.py: not valid Python 3; its "
                                          "install_requires were not read",
                                          hint=_HINT),))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and _is_setup(node)]
    value = next((kw.value for call in calls for kw in call.keywords
                  if kw.arg == "install_requires"), None)
    if value is None:
        return Fragment()
    items = _literal(value, _assignments(tree))
    return Fragment() if items is None else _fragment(items, "setup.py")


def _is_setup(node: ast.Call) -> bool:
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "setup") or (
        isinstance(func, ast.Attribute) and func.attr == "setup")


def _assignments(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names bound exactly once (`REQUIRED = [...]`)."""
    bound: dict[str, list[ast.expr]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(node.value)
    return {name: values[0] for name, values in bound.items() if len(values) == 1}


def _literal(value: ast.expr, names: dict[str, ast.expr]) -> list[str] | None:
    if isinstance(value, ast.Name) and value.id in names:
        value = names[value.id]
    try:
        items = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(items, str):
        items = items.splitlines()
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        return None
    return [i.strip() for i in items if i.strip() and not i.strip().startswith("#")]


def _fragment(items: list[str], rel: str) -> Fragment:
    deps: list[Dependency] = [to_dependency(item, f"{rel} install_requires", rel)
                              for item in items]
    return Fragment(dependencies=tuple(deps))
