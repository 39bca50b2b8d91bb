"""`detect`: run every detector over one project and merge their fragments into a Detection.

Nothing is first-match-wins silently. Every detector runs, and where they disagree (two Python
versions, two specifiers for one package, two tools' dependency files) one answer is kept by a
fixed, documented order and a finding says so. Every output is sorted, so the same folder always
gives the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from dockyard.detect._apt import detect_apt
from dockyard.detect._binder import detect_binder, environment_folder
from dockyard.detect._conda import conda_package_names
from dockyard.detect._deps import merge_dependencies, merge_notebook_installs
from dockyard.detect._ecosystems import detect_dependencies
from dockyard.detect._gpu import detect_gpu
from dockyard.detect._import_map import optional_imports, undeclared_imports
from dockyard.detect._imports import detect_imports
from dockyard.detect._layout import DATA_DIRS, detect_layout
from dockyard.detect._package import detect_package
from dockyard.detect._python import choose_python, detect_python_files
from dockyard.detect._types import ROOT, Detection, EnvironmentFolder, Finding, Fragment
from dockyard.detect._urls import redact
from dockyard.project import SKIP_DIRS, ProjectView

Detector = Callable[[ProjectView, EnvironmentFolder], Fragment]
# Each reads environment files from the folder `environment_folder` chose (binder/ or the root).
# Dependency files are read by `detect_dependencies`, which picks one ecosystem (`_ecosystems`).
DETECTORS: tuple[Detector, ...] = (
    detect_python_files,
    lambda view, env: detect_imports(view),
    detect_apt,
    lambda view, env: detect_layout(view),
    detect_binder,
    lambda view, env: detect_package(view),
)
MAX_FILES = 20000
NO_DEPENDENCY_FILE = "no dependency file found; dependencies come from imports only"
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def detect(view: ProjectView, default_python: str = "3.11") -> Detection:
    """Everything dockyard can tell about the project at `view`, conflicts as findings."""
    listed = ListedView.of(view)
    env, env_findings = environment_folder(listed)
    dependencies, ecosystem = detect_dependencies(listed, env)
    fragments = [dependencies, *(detector(listed, env) for detector in DETECTORS)]
    fragments.append(Fragment(findings=tuple(env_findings)))
    if not ecosystem and not dependencies.dependencies:
        fragments.append(Fragment(findings=(Finding("info", NO_DEPENDENCY_FILE),)))
    if listed.truncated:
        fragments.append(Fragment(findings=(_truncated(len(listed.listing)),)))
    conda_names = conda_package_names(listed, env) if ecosystem == "conda" else ()
    return merge(fragments, default_python, conda_names=conda_names, environment=env)


def merge(
    fragments: Sequence[Fragment],
    default_python: str,
    conda_names: Iterable[str] = (),
    environment: EnvironmentFolder = ROOT,
) -> Detection:
    """One Detection from fragments in precedence order; `conda_names` feed the GPU check."""
    python, python_findings = choose_python(
        [p for f in fragments for p in f.python], default_python
    )
    deps, dep_findings = merge_dependencies(d for f in fragments for d in f.dependencies)
    installs, install_findings = merge_notebook_installs(
        (i for f in fragments for i in f.notebook_installs), deps)
    declared = [d.name for d in (*deps, *installs)]
    pin_rows = tuple(sorted({p for f in fragments for p in f.pins}))
    index_url, extra_urls, index_findings = _merge_indexes(fragments)
    undeclared, import_findings = undeclared_imports(
        (i for f in fragments for i in f.imports),
        (m for f in fragments for m in f.local_modules),
        declared,
    )
    optional, optional_findings = optional_imports(
        (o for f in fragments for o in f.optional_imports),
        (module for f in fragments for module, _ in f.imports),
        (m for f in fragments for m in f.local_modules),
        declared,
    )
    gpu, gpu_findings = detect_gpu(
        [*deps, *installs], undeclared, (index_url, *extra_urls), pin_rows, conda_names
    )
    findings = (
        [x for f in fragments for x in f.findings]
        + python_findings
        + dep_findings
        + install_findings
        + index_findings
        + import_findings
        + optional_findings
        + gpu_findings
    )
    return Detection(
        python=python,
        dependencies=tuple(sorted(deps, key=lambda d: d.name)),
        pins=pin_rows,
        index_url=index_url,
        extra_index_urls=extra_urls,
        undeclared_imports=undeclared,
        system_packages=_sorted(s for f in fragments for s in f.system_packages),
        gpu=gpu,
        data_dirs=_sorted(d for f in fragments for d in f.data_dirs),
        notebooks=_sorted(n for f in fragments for n in f.notebooks),
        models=_sorted(m for f in fragments for m in f.models),
        findings=_ordered(findings),
        optional_imports=optional,
        environment=environment,
        post_build=next((f.post_build for f in fragments if f.post_build), ""),
        start=next((f.start for f in fragments if f.start), ""),
        package=next((f.package for f in fragments if f.package), ""),
        notebook_installs=tuple(sorted(installs, key=lambda d: d.name)),
    )


@dataclass(frozen=True)
class ListedView(ProjectView):
    """A ProjectView whose `files()` answers from a list taken once, shared by every detector.

    Data folders are left out: a data-science project's `data/` may hold hundreds of thousands
    of files, none of them code or a dependency file; walking them would cost seconds and push
    the code past the listing cap. (Data folders are mounted at run time, not copied.)
    """

    listing: tuple[str, ...] = ()
    truncated: bool = False

    @classmethod
    def of(cls, view: ProjectView, max_files: int = MAX_FILES) -> ListedView:
        files = _walk(view, max_files + 1)
        return cls(view.root, tuple(sorted(files[:max_files])), len(files) > max_files)

    def files(self, max_files: int = MAX_FILES) -> Iterator[str]:
        return iter(self.listing[:max_files])


def _walk(view: ProjectView, limit: int) -> list[str]:
    """Relative POSIX paths of regular files, like `ProjectView.files`, minus data folders.

    `os.scandir` reuses the type information the directory read already returned; that is
    several times faster than a `stat` per entry on large trees.
    """
    found: list[str] = []
    stack = [""]
    while stack and len(found) < limit:
        rel = stack.pop()
        try:
            with os.scandir(view.root / rel if rel else view.root) as entries:
                items = sorted(entries, key=lambda e: e.name)
        except OSError:
            continue
        for entry in items:
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if _descend(entry, top=not rel):
                    stack.append(path)
            elif entry.is_file():
                found.append(path)
    return found


def _descend(entry: os.DirEntry[str], *, top: bool) -> bool:
    if entry.name in SKIP_DIRS or (top and entry.name.lower() in DATA_DIRS):
        return False
    return not os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))


def _truncated(count: int) -> Finding:
    return Finding(
        "warning",
        f"more than {count} files outside data folders; only the first {count} were scanned",
        hint="move large file collections into data/ (mounted at run time, never scanned)",
    )


def _merge_indexes(fragments: Sequence[Fragment]) -> tuple[str, tuple[str, ...], list[Finding]]:
    """The first primary index wins; the extras keep their order (uv tries indexes in order)."""
    primary = ""
    findings: list[Finding] = []
    for fragment in fragments:
        url = fragment.index_url
        if url and not primary:
            primary = url
        elif url and url != primary:
            findings.append(
                Finding(
                    "warning",
                    f"two primary package indexes; using {redact(primary)}, not {redact(url)}",
                    hint="keep one index URL and declare the others as extra indexes",
                )
            )
    extras = (u for f in fragments for u in f.extra_index_urls if u != primary)
    return primary, tuple(dict.fromkeys(extras)), findings


def _sorted(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(items)))


def _ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Duplicates dropped, then the most severe first; otherwise the order they were found in."""
    unique = list(dict.fromkeys(findings))
    return tuple(sorted(unique, key=lambda f: _SEVERITY_ORDER.get(f.severity, 3)))
