"""pip's requirements-file grammar, one logical line at a time.

Shared by `requirements*.txt` and the `pip:` list of environment.yml, so both accept the same
lines and fail with the same messages. What a line *means* for the project (following an include,
keeping the first index URL) is decided by the caller; this module only classifies lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from dockyard.detect._common import normalize
from dockyard.detect._types import Dependency, Finding
from dockyard.errors import UserError

HINT = "fix the line or remove it (PEP 508: name[extras] specifier ; marker)"

# pip strips a comment only at the start of a line or after whitespace, so URL fragments such
# as `#egg=name` survive.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9_.\-]+)")
_ARCHIVES = (".whl", ".tar.gz", ".tar.bz2", ".zip", ".tgz")
# Options that change nothing dockyard generates: reported as info so nobody expects an effect.
_IGNORED_WITH_VALUE = frozenset(
    {"-f", "--find-links", "--trusted-host", "--only-binary", "--no-binary", "--use-feature"}
)
_IGNORED_FLAGS = frozenset({"--pre", "--prefer-binary", "--require-hashes", "--no-index"})


@dataclass(frozen=True)
class Line:
    """What one logical line means. At most one field is set; none for an ignorable line."""

    dependency: Dependency | None = None
    include: str = ""
    index_url: str = ""
    extra_index_url: str = ""
    finding: Finding | None = None


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line number, text) pairs: comments dropped, continuations joined."""
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not parts:
            start = number
        line = _COMMENT.sub("", raw).rstrip()
        if line.endswith("\\"):
            parts.append(line[:-1].strip())
            continue
        parts.append(line.strip())
        joined = " ".join(p for p in parts if p)
        parts = []
        if joined:
            yield start, joined
    if parts and any(parts):
        yield start, " ".join(p for p in parts if p)


def classify(line: str, where: str, source: str) -> Line:
    """Classify one logical line; `where` ("file:line") prefixes messages, `source` labels deps."""
    if line.startswith("-"):
        return _option(line, where, source)
    return _requirement_line(line, where, source)


def to_dependency(text: str, where: str, source: str) -> Dependency:
    """Parse a PEP 508 requirement, or raise the user error every detector shares."""
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise UserError(f"{where}: cannot parse {text!r}", hint=_hint(text)) from exc
    specifier = f"@ {req.url}" if req.url else str(req.specifier)
    return Dependency(
        name=normalize(req.name),
        specifier=specifier,
        source=source,
        extras=tuple(sorted(req.extras)),
        marker=str(req.marker) if req.marker else "",
    )


# A shell command pasted into a dependency file: `pip install x`, `conda install x`, `!pip …`.
_COMMAND = re.compile(r"^[!%]?\s*(?:pip3?|python3?\s+-m\s+pip|conda|mamba|uv\s+pip|uv)\s+"
                      r"(?:install|add)\s+(?P<rest>.+)$")


def _hint(text: str) -> str:
    command = _COMMAND.match(text.strip())
    if command is None:
        return HINT
    rest = command.group("rest").strip()
    return (f"this is a command, not a requirement: write what it installs, one per line "
            f"(here: {rest})")


def is_local(target: str) -> bool:
    """A path to a folder or archive on disk rather than something an index can serve."""
    if "://" in target and not target.startswith("file:"):
        return False
    return (
        target in (".", "..")
        or target.startswith(("./", "../", "/", "~", "file:"))
        or target.endswith(_ARCHIVES)
        or (("/" in target or "\\" in target) and "@" not in target)
    )


def local_finding(target: str, where: str) -> Finding:
    if target.rstrip("/") in (".", "file:."):
        return Finding(
            "info",
            f"{where}: '{target}' (the project itself) skipped; its code is copied into the image",
        )
    return Finding(
        "warning",
        f"{where}: local package {target!r} skipped; dockyard copies the project but does not "
        "install it",
        hint="publish it to an index, or make it importable from the project folder",
    )


def _requirement_line(line: str, where: str, source: str) -> Line:
    if _COMMAND.match(line.strip()):  # before the cut: `python -m pip …` would read "python"
        raise UserError(f"{where}: cannot parse {line!r}", hint=_hint(line))
    # pip's own rule: the requirement ends at the first token starting with "-" (per-line
    # options such as --hash, which an exact pin makes redundant for us).
    tokens = line.split(" ")
    cut = next((i for i, tok in enumerate(tokens) if tok.startswith("-")), len(tokens))
    text = " ".join(tokens[:cut]).strip()
    if is_local(text):
        return Line(finding=local_finding(text, where))
    if _is_bare_url(text):
        return _url_line(text, where, source)
    dependency = to_dependency(text, where, source)
    if dependency.specifier.startswith("@ file:"):
        return Line(finding=local_finding(dependency.specifier[2:], where))
    return Line(dependency=dependency)


def _is_bare_url(text: str) -> bool:
    head = text.split(";", 1)[0]
    return "://" in head and "@" not in head.split("://", 1)[0]


def _url_line(url: str, where: str, source: str) -> Line:
    """A bare URL: keep it as `name @ url` when the name can be told, else skip it."""
    name = _url_name(url)
    if not name:
        return Line(
            finding=Finding(
                "warning",
                f"{where}: cannot tell the package name of {url!r}; skipped",
                hint="write it as 'name @ url'",
            )
        )
    clean = _EGG.sub("", url).rstrip("#&")
    return Line(dependency=Dependency(normalize(name), f"@ {clean}", source))


def _url_name(url: str) -> str:
    egg = _EGG.search(url)
    if egg:
        return egg.group(1)
    filename = url.split("#", 1)[0].rsplit("/", 1)[-1]
    try:
        return str(parse_wheel_filename(filename)[0]) if filename.endswith(".whl") else ""
    except InvalidWheelFilename:
        return ""


def _split_option(line: str) -> tuple[str, str]:
    """`--opt=value`, `--opt value`, `-ovalue` and `-o value` → (option, value)."""
    head, _, rest = line.partition(" ")
    if head.startswith("--"):
        opt, eq, value = head.partition("=")
        return opt, (value if eq else rest).strip()
    if len(head) > 2:
        return head[:2], (head[2:] + " " + rest).strip()
    return head, rest.strip()


def _option(line: str, where: str, source: str) -> Line:
    opt, value = _split_option(line)
    if opt in ("-r", "--requirement"):
        return Line(include=value)
    if opt in ("-c", "--constraint"):
        return Line(finding=Finding("info", f"{where}: constraints file {value!r} ignored"))
    if opt in ("-i", "--index-url"):
        return Line(index_url=value)
    if opt == "--extra-index-url":
        return Line(extra_index_url=value)
    if opt in ("-e", "--editable"):
        return _editable(value, where, source)
    if opt in _IGNORED_WITH_VALUE or opt in _IGNORED_FLAGS:
        return Line(finding=Finding("info", f"{where}: option {opt} ignored"))
    return Line(finding=Finding("warning", f"{where}: unknown option {opt} ignored"))


def _editable(target: str, where: str, source: str) -> Line:
    """Editable installs make no sense in an image: VCS URLs become plain URL requirements."""
    if is_local(target):
        return Line(finding=local_finding(target, where))
    return _url_line(target, where, source)
