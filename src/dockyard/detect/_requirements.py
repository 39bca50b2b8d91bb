"""Detector for `requirements*.txt` and `requirements/*.txt`, following `-r` includes."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from dockyard.detect._common import unique
from dockyard.detect._reqlines import classify, logical_lines
from dockyard.detect._types import ROOT, Dependency, EnvironmentFolder, Finding, Fragment
from dockyard.detect._urls import redact
from dockyard.errors import UserError
from dockyard.project import ProjectView


def detect_requirements(view: ProjectView, env: EnvironmentFolder = ROOT) -> Fragment:
    """Every requirements file, `requirements.txt` first so it wins conflicts at merge time."""
    collector = Collector(view)
    for rel in requirement_files(view, env):
        collector.read_file(rel)
    return collector.fragment()


def requirement_files(view: ProjectView, env: EnvironmentFolder = ROOT) -> list[str]:
    """`requirements*.txt` and `requirements/*.txt` in the environment folder, main file first."""
    prefix = re.escape(env.path(""))
    top_file = re.compile(prefix + r"requirements[^/]*\.txt")
    folder_file = re.compile(prefix + r"requirements/[^/]+\.txt")
    top = sorted(f for f in view.files() if top_file.fullmatch(f))
    folder = sorted(f for f in view.files() if folder_file.fullmatch(f))
    main = env.path("requirements.txt")
    return [f for f in top if f == main] + [f for f in top if f != main] + folder


@dataclass
class Collector:
    """What requirement lines say, across the files they include. Lives for one detector run.

    Also used for environment.yml's `pip:` list, whose `-r` lines follow the same rules.
    """

    view: ProjectView
    dependencies: list[Dependency] = field(default_factory=list)
    index_url: str = ""
    extra_index_urls: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def read_file(self, rel: str) -> None:
        # Includes may form cycles (a.txt -r b.txt -r a.txt); each file is read once.
        if rel in self.seen:
            return
        self.seen.add(rel)
        for lineno, text in logical_lines(self.view.read_text(rel)):
            self.take(rel, lineno, text)

    def take(self, rel: str, lineno: int, text: str) -> None:
        """One logical line of file `rel` (the file includes are resolved against)."""
        where = f"{rel}:{lineno}"
        line = classify(text, where, rel)
        if line.dependency is not None:
            self.dependencies.append(line.dependency)
        elif line.include:
            self._include(rel, line.include, where)
        elif line.index_url:
            self._set_index(line.index_url, where)
        elif line.extra_index_url:
            self.extra_index_urls.append(line.extra_index_url)
        if line.finding is not None:
            self.findings.append(line.finding)

    def fragment(self) -> Fragment:
        return Fragment(
            dependencies=tuple(self.dependencies),
            index_url=self.index_url,
            extra_index_urls=unique(self.extra_index_urls),
            findings=tuple(self.findings),
        )

    def _include(self, rel: str, target: str, where: str) -> None:
        # pip resolves includes against the including file's folder, not the working directory.
        path = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
        if path == ".." or path.startswith("../") or posixpath.isabs(path):
            self.findings.append(
                Finding(
                    "warning",
                    f"{where}: included file {target!r} is outside the project; skipped",
                    hint="move it into the project folder: only that folder is sent to the build",
                )
            )
            return
        if not self.view.exists(path):
            raise UserError(
                f"{where}: included file {target!r} not found",
                hint="fix the path (it is relative to the including file) or remove the line",
            )
        self.read_file(path)

    def _set_index(self, url: str, where: str) -> None:
        # pip uses the last --index-url it reads; we keep the first, in our stable file order,
        # and say so, because two different primary indexes is almost always a mistake.
        if not self.index_url:
            self.index_url = url
        elif url != self.index_url:
            self.findings.append(
                Finding(
                    "warning",
                    f"{where}: second --index-url {redact(url)} ignored; "
                    f"using {redact(self.index_url)}",
                    hint="keep one --index-url and use --extra-index-url for the others",
                )
            )
