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
