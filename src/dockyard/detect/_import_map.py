"""From imported modules to PyPI distributions, and which imports nothing declares.

The table lives in `data/import_map.toml`. A module it does not list is taken to be its own
distribution (PEP 503-normalised): true for most packages, and an honest guess the user sees
in the findings for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from dockyard.detect._common import load_data, normalize
from dockyard.detect._types import Finding, OptionalImport, UndeclaredImport


@dataclass(frozen=True)
class ImportMap:
    imports: Mapping[str, str]  # module → distribution
    providers: Mapping[str, frozenset[str]]  # normalised distribution → modules it provides
    ambiguous: Mapping[str, tuple[str, ...]]  # namespace → distribution-name prefixes
    runtime: frozenset[str]  # modules every image has (JupyterLab's own)


@lru_cache(maxsize=1)
def import_map() -> ImportMap:
    data = load_data("import_map.toml")
    imports = {str(k): str(v) for k, v in data["imports"].items()}
    providers: dict[str, set[str]] = {}
    for module, dist in imports.items():
        providers.setdefault(normalize(dist), set()).add(module)
    for dist, modules in data["provides"].items():
        providers.setdefault(normalize(dist), set()).update(modules)
    return ImportMap(
        imports=imports,
        providers={dist: frozenset(modules) for dist, modules in providers.items()},
        ambiguous={str(k): tuple(v) for k, v in data["ambiguous"].items()},
        runtime=frozenset(data["runtime"]["modules"]),
    )


def distribution_for(module: str) -> str:
    """The distribution to install for `module`: from the table, else the module's own name."""
    return normalize(import_map().imports.get(module, module))


def is_known(module: str) -> bool:
    """Whether the table lists `module` (a vetted module → distribution pair), as opposed to
    the same-name guess that a private `import acme_utils` would also get."""
    return module in import_map().imports


def undeclared_imports(
    imports: Iterable[tuple[str, str]], local: Iterable[str], declared: Iterable[str]
) -> tuple[tuple[UndeclaredImport, ...], list[Finding]]:
    """Imports (module, file) that neither the project nor a declared distribution provides."""
    table = import_map()
    names = frozenset(normalize(name) for name in declared)
    own = frozenset(local) | table.runtime
    files: dict[str, set[str]] = {}
    for module, rel in imports:
        if module not in own:
            files.setdefault(module, set()).add(rel)
    found: list[UndeclaredImport] = []
    findings: list[Finding] = []
    for module in sorted(files, key=lambda m: (m.lower(), m)):
        where = tuple(sorted(files[module]))
        if module in table.ambiguous:
            if not _declares_namespace(table.ambiguous[module], names):
                findings.append(_ambiguous_finding(module, table.ambiguous[module], where))
        elif not is_declared(module, names):
            found.append(UndeclaredImport(module, distribution_for(module), where))
    return tuple(found), findings


def is_declared(module: str, declared: frozenset[str]) -> bool:
    """Declared under its mapped distribution, its own name, or by a known provider."""
    if distribution_for(module) in declared or normalize(module) in declared:
        return True
    providers = import_map().providers
    return any(module in providers.get(name, ()) for name in declared)


def _declares_namespace(prefixes: tuple[str, ...], declared: frozenset[str]) -> bool:
    return any(name.startswith(prefix) for name in declared for prefix in prefixes)


def _ambiguous_finding(module: str, prefixes: tuple[str, ...], files: tuple[str, ...]) -> Finding:
    choices = ", ".join(p + "*" if p.endswith("-") else p for p in prefixes)
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    return Finding(
        "info",
        f"import {module} ({shown}) is ambiguous: many distributions provide it ({choices}); "
        "not added",
        hint="declare the distribution you use, e.g. in requirements.txt",
    )


def optional_imports(
    optional: Iterable[tuple[str, str, str]],
    required: Iterable[str],
    local: Iterable[str],
    declared: Iterable[str],
) -> tuple[tuple[OptionalImport, ...], list[Finding]]:
    """Imports the code can run without, that nothing declares: reported, never installed.

    A module imported plainly anywhere is not optional (it is an undeclared import instead).
    """
    table = import_map()
    names = frozenset(normalize(name) for name in declared)
    skip = frozenset(required) | frozenset(local) | table.runtime
    files: dict[str, set[str]] = {}
    reasons: dict[str, str] = {}
    for module, rel, why in sorted(optional):
        if module in skip or module in table.ambiguous or is_declared(module, names):
            continue
        files.setdefault(module, set()).add(rel)
        reasons.setdefault(module, why)
    found = tuple(
        OptionalImport(module, distribution_for(module), tuple(sorted(files[module])),
                       reasons[module])
        for module in sorted(files, key=lambda m: (m.lower(), m))
    )
    return found, [_optional_finding(found)] if found else []


def _optional_finding(found: tuple[OptionalImport, ...]) -> Finding:
    shown = ", ".join(f"{o.module} ({o.reason}, {o.files[0]})" for o in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    return Finding(
        "info",
        f"optional imports not installed: {shown}{more}",
        hint="declare one in your dependency file if the image should have it",
    )
