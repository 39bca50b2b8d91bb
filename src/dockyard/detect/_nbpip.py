"""What a notebook installs for itself: `%pip install` and `!pip install` lines.

A notebook that runs `%pip install xgboost==1.7.6` has declared xgboost, pinned, where no
dependency file sees it; the image should hold it before the cell runs (a non-root container
with a read-only environment cannot install it then). Names only: a path, a URL, a file of
requirements or a Jupyter variable (`{pkgs}`, `$pkg`) is not something dockyard can resolve, and
`pip install --upgrade pip` is the notebook's tooling, not its environment.
"""

from __future__ import annotations

import re
import shlex

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from dockyard.detect._types import Dependency

# `%pip install`, `!pip3 install`, `!python -m pip install`, `!{sys.executable} -m pip install`
_INSTALL = re.compile(
    r"^\s*[!%]\s*(?:pip3?|python3?\s+-m\s+pip|\{sys\.executable\}\s+-m\s+pip)\s+install\s(.*)$")
# pip install's options that take a value as the next word (`-i URL`, `-r FILE`, …).
_WITH_VALUE = frozenset({
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--src",
    "--upgrade-strategy", "--platform", "--python-version", "--implementation", "--abi",
    "--no-binary", "--only-binary", "--progress-bar", "--trusted-host", "--cache-dir", "--log",
    "--proxy", "--retries", "--timeout", "--exists-action", "--cert", "--client-cert",
    "-C", "--config-settings", "--global-option", "--report", "--group",
})
_TOOLING = frozenset({"pip", "setuptools", "wheel"})


def pip_installs(source: str, rel: str) -> list[Dependency]:
    """The PyPI requirements a cell's `pip install` lines name, in order, sourced to REL."""
    found: list[Dependency] = []
    for line in _logical(source):
        match = _INSTALL.match(line)
        if match:
            found += [_dependency(r, rel) for r in _requirements(match.group(1))]
    return found


def _logical(source: str) -> list[str]:
    """Lines with their backslash continuations joined, as the shell reads them."""
    joined = re.sub(r"\\\r?\n", " ", source)
    return joined.splitlines()


def _requirements(args: str) -> list[Requirement]:
    """The requirement words of ARGS, read as the shell does (IPython runs `%pip` through it):
    quotes kept, `#` a comment, `;`/`&&`/`|` end the command, `>`/`<` redirect (so an unquoted
    `numpy>=1.2` installed numpy and wrote a file named "=1.2")."""
    lexer = shlex.shlex(args, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:  # an unclosed quote: the cell would fail too
        return []
    found: list[Requirement] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word[0] in "<>":
            skip = True  # the redirect's file
        elif word[0] in ";&|()":
            break  # the rest is another command
        elif word.startswith("-"):
            skip = word in _WITH_VALUE
        elif not word.isdigit() and not re.search(r"[{}$/\\]|^\.|\.(whl|zip|tar\.gz)$", word):
            req = _parsed(word)
            if req and canonicalize_name(req.name) not in _TOOLING and req.url is None:
                found.append(req)
    return found


def _parsed(word: str) -> Requirement | None:
    try:
        return Requirement(word)
    except InvalidRequirement:
        return None


def _dependency(req: Requirement, rel: str) -> Dependency:
    return Dependency(name=canonicalize_name(req.name), specifier=str(req.specifier),
                      source=rel, extras=tuple(sorted(req.extras)),
                      marker=str(req.marker) if req.marker else "")
