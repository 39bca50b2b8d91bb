"""A read-only view of a project folder, rooted at an explicit path."""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import UserError

# Folders never worth scanning: they are not the user's code.
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "env", ".env", "node_modules", "__pycache__",
     ".ipynb_checkpoints", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
     "build", "dist", ".dockyard", "site-packages", ".cache"}
)


# Longest first: UTF-32 LE's mark begins with UTF-16 LE's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def decode_text(data: bytes) -> str:
    """A text file as editors save it: UTF-8, or any UTF with a byte-order mark. Windows'
    PowerShell writes `pip freeze > requirements.txt` as UTF-16 with a mark, and pip reads it."""
    codec = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    return data.decode(codec, errors="replace")


@dataclass(frozen=True)
class ProjectView:
    """Read-only access to the files of one project. Paths are relative, POSIX-style."""

    root: Path

    @classmethod
    def open(cls, path: str | Path) -> ProjectView:
        root = Path(path).expanduser()
        if not root.is_dir():
            raise UserError(
                f"project folder {str(path)!r} does not exist or is not a folder",
                hint="pass an existing folder with -C DIR",
            )
        return cls(root.resolve())

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def is_dir(self, rel: str) -> bool:
        return (self.root / rel).is_dir()

    def read_text(self, rel: str) -> str:
        return decode_text((self.root / rel).read_bytes())

    def read_bytes(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def files(self, max_files: int = 20000) -> Iterator[str]:
        """Every file below the root, skipping virtualenvs, caches and VCS folders."""
        count = 0
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(folder.iterdir())
            except OSError:
                continue
            for entry in entries:
                if entry.is_symlink():
                    continue
                if entry.is_dir():
                    if entry.name not in SKIP_DIRS and not (entry / "pyvenv.cfg").exists():
                        stack.append(entry)
                elif entry.is_file():
                    count += 1
                    if count > max_files:
                        return
                    yield entry.relative_to(self.root).as_posix()

    def top_level(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir())

    @property
    def name(self) -> str:
        """A name safe for images, containers and compose projects."""
        slug = re.sub(r"[^a-z0-9_.-]+", "-", self.root.name.lower()).strip("-._")
        return slug or "project"

    @property
    def key(self) -> str:
        """A stable id for labels: the name plus a short hash of the absolute path."""
        digest = hashlib.sha256(str(self.root).encode()).hexdigest()[:8]
        return f"{self.name}-{digest}"
