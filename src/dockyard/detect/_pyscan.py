"""Top-level module names a piece of Python code imports.

Two readers with the same answer for valid code:

* `imports_in_cell` parses with `ast`. Used for notebook cells, which are small, and where a
  cell that does not parse must be reported.
* `imports_in_source` is for `.py` files. Parsing a whole tree with `ast` costs about a
  millisecond per 200 lines (two seconds for a modest vendored library), so it blanks string
  literals and comments with one regular expression and reads the `import` and `from` statements
  that remain. Imports inside functions, `try` blocks and after `;` or `:` are all found.

Relative imports (`from . import x`) name the project itself and are skipped.
"""

from __future__ import annotations

import ast
import re

# One pass over strings (all four quote styles, any prefix) and comments. Strings go first in
# the alternation so a `#` inside a string is not taken for a comment.
_STRINGS_AND_COMMENTS = re.compile(
    r"""
      '''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''
    | \"\"\"[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*\"\"\"
    | '[^'\\\n]*(?:\\.[^'\\\n]*)*'
    | "[^"\\\n]*(?:\\.[^"\\\n]*)*"
    | \#[^\n]*
    """,
    re.VERBOSE | re.DOTALL,
)
# Patterns start with the bare keyword so the regex engine can jump between literal hits (a
# lookbehind would make it try every position: 20x slower). That the keyword starts a statement
# (line start, after `;` or a block colon, not `ximport`) is checked in Python.
_IMPORT = re.compile(r"import[ \t]+([^\n;]+)")
_FROM = re.compile(r"from[ \t]+([\w.]+)[ \t]+import\b")


def imports_in_source(text: str) -> set[str]:
    code = _STRINGS_AND_COMMENTS.sub('""', text).replace("\\\n", " ")
    found = {_top(m.group(1)) for m in _FROM.finditer(code) if _starts_statement(code, m.start())}
    for match in _IMPORT.finditer(code):
        if not _starts_statement(code, match.start()):
            continue
        for item in match.group(1).split(","):
            words = item.split()
            if words:
                found.add(_top(words[0]))
    return {name for name in found if name.isidentifier()}


def _starts_statement(code: str, start: int) -> bool:
    before = code[code.rfind("\n", 0, start) + 1 : start].rstrip()
    return not before or before.endswith((";", ":"))


def imports_in_cell(tree: ast.AST) -> set[str]:
    """Every absolute import anywhere in a parsed tree (functions and try blocks included)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(_top(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(_top(node.module))
    return found


def _top(dotted: str) -> str:
    """`a.b.c` → `a`; a relative `.a` → "" (dropped by the caller's identifier check)."""
    return dotted.split(".", 1)[0]


GUARDED = "guarded by except ImportError"
TYPE_ONLY = "under if TYPE_CHECKING"
# Handlers that make an import in their `try` optional: the code runs without the module.
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
# Only files holding one of these words can have a guarded import; the rest skip `ast`.
_GUARD_WORDS = re.compile(
    r"ImportError|ModuleNotFoundError|TYPE_CHECKING"
    r"|except(?:\s+(?:Base)?Exception)?(?:\s+as\s+\w+)?\s*:"
)


def classify_source(text: str) -> tuple[set[str], dict[str, str]]:
    """(required modules, {optional module: why}) of a `.py` file.

    Guarded imports (`try: import x / except ImportError:`, and the fallback in the handler)
    and typing-only ones (`if TYPE_CHECKING:`) are optional: the code runs without them. A module
    imported both ways is required. Files without a guard keep the fast regex path.
    """
    if not _GUARD_WORDS.search(text):
        return imports_in_source(text), {}
    try:
        return classify_tree(ast.parse(text))
    except (SyntaxError, ValueError, RecursionError):
        return imports_in_source(text), {}


def classify_tree(tree: ast.AST) -> tuple[set[str], dict[str, str]]:
    """Like `classify_source`, for a parsed tree (a notebook cell or a whole file)."""
    required: set[str] = set()
    optional: dict[str, str] = {}
    _visit(tree, "", required, optional)
    for name in required:
        optional.pop(name, None)
    return required, optional


def _visit(node: ast.AST, guard: str, required: set[str], optional: dict[str, str]) -> None:
    if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
        _visit_try(node, guard, required, optional)
        return
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        for child in node.body:
            _visit(child, guard or TYPE_ONLY, required, optional)
        for child in node.orelse:
            _visit(child, guard, required, optional)
        return
    for name in _imported(node):
        if guard:
            optional.setdefault(name, guard)
        else:
            required.add(name)
    for sub in ast.iter_child_nodes(node):
        _visit(sub, guard, required, optional)


def _visit_try(node: ast.AST, guard: str, required: set[str], optional: dict[str, str]) -> None:
    handlers: list[ast.ExceptHandler] = getattr(node, "handlers", [])
    inner = guard or (GUARDED if any(_catches_import_error(h) for h in handlers) else "")
    for child in getattr(node, "body", []):
        _visit(child, inner, required, optional)
    for handler in handlers:
        for child in handler.body:
            _visit(child, inner, required, optional)  # the fallback is optional too
    for child in [*getattr(node, "orelse", []), *getattr(node, "finalbody", [])]:
        _visit(child, guard, required, optional)


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [_top(alias.name) for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [_top(node.module)]
    return []


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:  # a bare `except:`
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(_name(t) in _IMPORT_ERRORS for t in types)


def _is_type_checking(test: ast.expr) -> bool:
    return _name(test) == "TYPE_CHECKING"


def _name(node: ast.expr) -> str:
    """`X` or `module.X` → "X"; anything else → ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""
