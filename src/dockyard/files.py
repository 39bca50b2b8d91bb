"""The one way dockyard writes into a project folder.

Every writer (generated artifacts, compose.yaml, `.env`, `.gitignore`, `dockyard.lock`,
`dockyard.toml`, data folders) goes through here, so a symbolic link planted in the project can
never redirect a write outside it. Paths are walked one folder at a time with `O_NOFOLLOW`
relative to the previous folder's descriptor (no check-then-use gap), a link anywhere on the
way is refused, and new content goes to a temporary file created exclusively (`O_EXCL`, random
name) in the target's folder, then renamed over the target.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from dockyard.errors import UserError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _parts(rel: str) -> list[str]:
    """The components of a relative, normalised path inside the project; else a UserError."""
    norm = posixpath.normpath(rel) if rel else ""
    parts = norm.split("/")
    if (not rel or rel.startswith("/") or norm in (".", "") or ".." in parts
            or any(ord(c) < 32 or c == "\x7f" for c in rel)):
        raise UserError(f"{rel!r} is not a path inside the project folder",
                        hint="use a relative path below the project folder, without '..'")
    return parts


def _refuse_link(rel: str) -> UserError:
    return UserError(f"{rel} is a symbolic link (or not a regular file); dockyard does not "
                     "write through links, so that nothing outside the project changes",
                     hint=f"replace {rel} with a regular file or folder, or remove it")


@contextlib.contextmanager
def _folder(root: Path, parts: list[str], rel: str, create: bool) -> Iterator[int]:
    """A descriptor of ROOT/PARTS…, each step opened without following a link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _refuse_link("/".join(parts[:i + 1]) or rel) from None
                raise
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _kind(fd: int, name: str) -> int | None:
    """The file type of NAME in folder FD (not following a link), or None if it is absent."""
    try:
        return stat.S_IFMT(os.lstat(name, dir_fd=fd).st_mode)
    except FileNotFoundError:
        return None


def read_text(root: Path, rel: str) -> str | None:
    """ROOT/REL's text, None when it does not exist; a link or a non-file is refused."""
    parts = _parts(rel)
    try:
        with _folder(root, parts[:-1], rel, create=False) as fd:
            kind = _kind(fd, parts[-1])
            if kind is None:
                return None
            if kind != stat.S_IFREG:
                raise _refuse_link(rel)
            handle = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    except FileNotFoundError:
        return None
    with os.fdopen(handle, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def write_text(root: Path, rel: str, content: str, mode: int | None = None) -> None:
    """Replace ROOT/REL with CONTENT (folders created as needed), never through a link.
    A file that exists keeps its owner, and its mode unless `mode` is given (default 0644)."""
    parts = _parts(rel)
    with _folder(root, parts[:-1], rel, create=True) as fd:
        name = parts[-1]
        try:
            old: os.stat_result | None = os.lstat(name, dir_fd=fd)
        except FileNotFoundError:
            old = None
        if old is not None and not stat.S_ISREG(old.st_mode):
            raise _refuse_link(rel)
        tmp = f".{name}.{secrets.token_hex(6)}.dockyard-tmp"
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=fd)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as fh:
                fh.write(content)
                if old is not None:
                    with contextlib.suppress(PermissionError):
                        os.fchown(fh.fileno(), old.st_uid, old.st_gid)
                os.fchmod(fh.fileno(), mode if mode is not None else (
                    stat.S_IMODE(old.st_mode) if old is not None else 0o644))
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=fd)
            raise


def make_dirs(root: Path, rel: str) -> None:
    """Create ROOT/REL and its parents; a link on the way is refused."""
    parts = _parts(rel)
    with _folder(root, parts, rel, create=True):
        pass


def check_target(root: Path, rel: str, *, folder: bool = False) -> None:
    """Refuse now, before anything is written, if writing ROOT/REL (a file, or a folder with
    `folder=True`) would go through a link."""
    parts = _parts(rel)
    current = root
    for i, part in enumerate(parts):
        current = current / part
        last = i == len(parts) - 1
        wrong_type = not current.is_file() if last and not folder else not current.is_dir()
        if current.is_symlink() or (current.exists() and wrong_type):
            raise _refuse_link("/".join(parts[:i + 1]))
