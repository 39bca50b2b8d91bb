"""The stack's `.env`, and the ignore files that keep it out of git and out of images.

`.env` may already be the user's: dockyard only appends the variables it misses and never
changes a value, so passwords stay stable (a database volume keeps the password it was created
with) and the user's own settings survive. The pure merges come first, the file writes last.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from dockyard import files

ENV_FILE = ".env"
# Lines that already keep .env out; anything else gets a `.env` line appended.
_COVERS_ENV = (".env", "/.env", "**/.env", "*.env", ".env*", "/.env*", "**/.env*")


def parse_env(text: str) -> dict[str, str]:
    """KEY=VALUE lines, as Compose reads them (comments, blanks and `export` skipped)."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def new_value(key: str, uid: int, gid: int) -> str:
    """A fresh value: a random password (URL-safe, so it fits in connection URLs as is) or
    the project folder's owner for DOCKYARD_UID/GID."""
    if key == "DOCKYARD_UID":
        return str(uid)
    if key == "DOCKYARD_GID":
        return str(gid)
    if key == "JUPYTER_TOKEN":
        return secrets.token_hex(24)
    return secrets.token_urlsafe(24)


def merged_env(existing: str, wanted: list[str], uid: int, gid: int) -> tuple[str, list[str]]:
    """The new text of .env and the keys added; `existing` is kept byte for byte."""
    present = parse_env(existing)
    missing = [key for key in wanted if key not in present]
    if not missing:
        return existing, []
    lines = ["# Added by dockyard for the stack in compose.yaml: passwords and the user the",
             "# project's containers run as. Keep this file private (mode 0600, never commit it)."]
    lines += [f"{key}={new_value(key, uid, gid)}" for key in missing]
    prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
    return prefix + "\n".join(lines) + "\n", missing


def covers_env(ignore_text: str) -> bool:
    return any(line.strip() in _COVERS_ENV for line in ignore_text.splitlines())


def with_env_ignored(ignore_text: str) -> str:
    """The ignore file with a `.env` line appended (unchanged when it already has one)."""
    if covers_env(ignore_text):
        return ignore_text
    prefix = ignore_text if not ignore_text or ignore_text.endswith("\n") else ignore_text + "\n"
    return prefix + "# dockyard: .env holds the stack's passwords\n.env\n"


def write_env(root: Path, wanted: list[str]) -> list[str]:
    """Add the missing variables to ROOT/.env (mode 0600); returns the keys added."""
    existing = files.read_text(root, ENV_FILE)
    owner = root.stat()
    text, added = merged_env(existing or "", wanted, owner.st_uid, owner.st_gid)
    # Rewritten whole, through a temporary file created 0600: a password is never readable by
    # others, and a planted link is refused rather than followed.
    if added or existing is None or (root / ENV_FILE).stat().st_mode & 0o077:
        files.write_text(root, ENV_FILE, text, mode=0o600)
    return added


def read_env(root: Path) -> dict[str, str]:
    return parse_env(files.read_text(root, ENV_FILE) or "")


def ensure_ignored(root: Path, name: str, fresh: str | None) -> list[str]:
    """Make ROOT/NAME keep .env out: append a line, or write FRESH when the file is missing."""
    text = files.read_text(root, name)
    if text is None:
        files.write_text(root, name, fresh if fresh is not None else with_env_ignored(""))
        return [f"wrote {name} (it keeps .env out)"]
    if covers_env(text):
        return []
    files.write_text(root, name, with_env_ignored(text))
    return [f"added .env to {name}"]
