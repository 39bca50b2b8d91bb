"""Pinned dependencies: `dockyard.lock`, and the implicit lock every build makes.

uv resolves on the host for the image's target (`--python-version`, `--python-platform`), so the
pins are right for the container whatever the host runs. Each pinned file's header records a
digest of the inputs (requirements, indexes, Python); a file whose digest differs from the
current inputs is stale.

`dockyard lock` writes `dockyard.lock`, for the user to commit. Without a fresh one, `build`
resolves into `.dockyard/resolved.txt` itself and installs exactly that list with hashes: an
implicit lock, so two builds give the same packages until a declaration changes, and a typo or
a conflict is reported in seconds, before any layer is built.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dockyard import files
from dockyard.engine.runner import ProcessRunner, Result, RunTimeout
from dockyard.errors import UserError
from dockyard.generate import LOCK_FILE, input_digest, merged_requirements
from dockyard.generate.artifacts import header
from dockyard.generate.indexes import indexes_for
from dockyard.spec import Spec

RESOLVED_FILE = ".dockyard/resolved.txt"
RESOLVE_LOG = ".dockyard/build.log"
UV_TIMEOUT = 900
_DIGEST = re.compile(r"^# input-sha256: ([0-9a-f]{64})$", re.M)
_FROM_SOURCE = re.compile(r"^# build-from-source: (.*)$", re.M)
_ARCH = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
# The oldest glibc among the bases a Python runs on here (Debian bullseye has 2.31, bookworm
# 2.36; the official python:*-slim are bookworm or newer): wheels needing more would not load.
_GLIBC = {"3.9": "2_31"}


@dataclass(frozen=True)
class LockResult:
    path: str
    packages: int
    digest: str


@dataclass(frozen=True)
class Resolution:
    """The pinned set a build installs, and whether it came from the cache of an earlier one."""

    path: str  # dockyard.lock or .dockyard/resolved.txt, relative to the project
    pins: tuple[str, ...]  # name==version
    from_source: tuple[str, ...]  # packages with no wheel for the image: need compilers
    reused: bool


class ResolutionFailed(UserError):
    """uv could not resolve the declared dependencies; `uv_message` is its own explanation."""

    def __init__(self, uv_message: str, log: str) -> None:
        super().__init__(f"cannot resolve dependencies: {uv_message}",
                         hint="check the package names and versions in your dependency files "
                              "(or exclude one in dockyard.toml [dependencies])")
        self.uv_message = uv_message
        self.log = log


def uv_binary() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


def lock(root: Path, spec: Spec, ca_cert: Path | None) -> LockResult:
    """Resolve and write dockyard.lock; a resolution failure is the user's to fix."""
    files.check_target(root, LOCK_FILE)  # before minutes of resolving, not after
    body = compile_pins(spec, ca_cert, root)
    files.write_text(root, LOCK_FILE, _pinned_text(spec, body, ()))
    return LockResult(LOCK_FILE, len(_pins(body)), input_digest(spec))


def resolve_for_build(root: Path, spec: Spec, ca_cert: Path | None,
                      refresh: bool = False) -> Resolution:
    """dockyard.lock when fresh; else the implicit lock, resolved again only when the inputs
    moved (or `refresh`)."""
    if lock_state(root, spec) == "fresh":
        return _read(root, LOCK_FILE, reused=True)
    if not refresh and pinned_state(root / RESOLVED_FILE, spec) == "fresh":
        return _read(root, RESOLVED_FILE, reused=True)
    files.check_target(root, RESOLVED_FILE)
    body = compile_pins(spec, ca_cert, root)
    files.write_text(root, RESOLVED_FILE,
                     _pinned_text(spec, body, without_wheels(spec, body, ca_cert)))
    return _read(root, RESOLVED_FILE, reused=False)


def compile_pins(spec: Spec, ca_cert: Path | None, root: Path | None = None) -> str:
    """uv's pinned, hashed requirements for the spec's target; ResolutionFailed if none.
    A setup.py package's own dependencies come from its build backend (uv reads setup.py as a
    source, as pip would when installing it)."""
    with tempfile.TemporaryDirectory(prefix="dockyard-lock-") as tmp:
        source = Path(tmp) / "requirements.in"
        source.write_text("\n".join(merged_requirements(spec)) + "\n")
        out = Path(tmp) / "out.txt"
        argv = [*_compile_argv(spec, source, out), "--generate-hashes"]
        if root is not None and spec.install_project == "setup.py":
            argv.insert(4, str(root / "setup.py"))
        proc = _uv(argv, spec, ca_cert)
        if proc.returncode != 0:
            raise ResolutionFailed(_reason(proc.stderr), proc.stderr)
        return out.read_text()


def without_wheels(spec: Spec, body: str, ca_cert: Path | None) -> tuple[str, ...]:
    """The pinned packages that have no wheel for the image's platform (they are built from
    source, so the builder needs compilers). One more resolution, only binary allowed."""
    with tempfile.TemporaryDirectory(prefix="dockyard-wheels-") as tmp:
        pins = list(_pins(body))
        source = Path(tmp) / "pins.in"
        source.write_text("\n".join(pins) + "\n")
        argv = [*_compile_argv(spec, source, Path(tmp) / "out.txt"), "--no-deps"]
        proc = _uv([*argv, "--only-binary", ":all:"], spec, ca_cert)
        if proc.returncode == 0:
            return ()
        named = {p.split("==")[0] for p in pins if re.search(
            rf"\b{re.escape(p.split('==')[0])}\b", proc.stderr, re.I)}
        return tuple(sorted(named)) or ("(unknown)",)


def _uv(argv: list[str], spec: Spec, ca_cert: Path | None) -> Result:
    """uv with the indexes and strategy the build uses (`indexes_for`), passed in its
    environment rather than argv, where any local user could read an index's credentials."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_DEFAULT_INDEX",
                        "UV_INDEX_STRATEGY")}
    env.update(indexes_for(spec).uv_env())
    env["UV_PYTHON_DOWNLOADS"] = "never"  # it resolves for a version; it needs no interpreter
    if ca_cert is not None:
        env["SSL_CERT_FILE"] = str(ca_cert)
    own_cache = "UV_CACHE_DIR" not in env
    if own_cache:
        env["UV_CACHE_DIR"] = str(resolver_cache())
    try:
        return ProcessRunner().run(argv, env=env, timeout=UV_TIMEOUT)
    except RunTimeout:
        raise UserError(f"resolving the dependencies took longer than {UV_TIMEOUT}s and was "
                        "stopped",
                        hint="check that the package index answers (a proxy may need "
                             "--ca-cert), or pin the dependencies more narrowly") from None
    finally:
        if own_cache:
            _prune(env)


def resolver_cache() -> Path:
    """uv's cache for resolving on the host: dockyard's own, so pruning it touches nothing of
    the user's (a UV_CACHE_DIR they set is used as it is, and left alone)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dockyard" / "uv"


def _prune(env: dict[str, str]) -> None:
    """Drop what the last resolution made unreachable. A source-only package's metadata comes
    from its unpacked sdist, and where the index's answers carry no cache headers (a TLS proxy
    here) uv unpacks a new copy each time: pyspark's 330 MB, every build, filled a disk."""
    with contextlib.suppress(RunTimeout):  # a cache left for the next prune fails no build
        ProcessRunner().run([uv_binary(), "cache", "prune", "--quiet"], env=env, timeout=120)


def _compile_argv(spec: Spec, source: Path, out: Path) -> list[str]:
    argv = [uv_binary(), "pip", "compile", str(source), "-o", str(out), "--no-header",
            "--quiet", "--python-version", spec.python, "--python-platform",
            target_platform(spec.python), "--no-annotate"]
    return argv


def target_platform(python: str) -> str:
    arch = _ARCH.get(platform.machine(), "x86_64")
    return f"{arch}-manylinux_{_GLIBC.get('.'.join(python.split('.')[:2]), '2_36')}"


def _pinned_text(spec: Spec, body: str, from_source: tuple[str, ...]) -> str:
    lines = [header().rstrip("\n"), f"# input-sha256: {input_digest(spec)}",
             f"# python {spec.python}, {target_platform(spec.python)}"]
    if from_source:
        lines.append(f"# build-from-source: {','.join(from_source)}")
    return "\n".join(lines) + "\n" + body


def _read(root: Path, rel: str, reused: bool) -> Resolution:
    text = (root / rel).read_text()
    found = _FROM_SOURCE.search(text)
    from_source = tuple(found.group(1).split(",")) if found else ()
    return Resolution(rel, _pins(text), from_source, reused)


def _pins(body: str) -> tuple[str, ...]:
    return tuple(ln.split()[0].rstrip("\\") for ln in body.splitlines()
                 if ln and not ln[0].isspace() and not ln.startswith("#") and "==" in ln)


def _reason(stderr: str) -> str:
    """uv's explanation in one sentence: its cause when that is one line, else the conclusion
    its chain of reasoning ends with ("you require numpy<1.20 and pandas>=2.2, …")."""
    lines = [ln.strip(" \u00d7\u2570\u2500\u25b6") for ln in stderr.splitlines() if ln.strip()]
    lines = [re.sub(r"^(error|cause|caused by|Caused by):\s*", "", ln) for ln in lines
             if not ln.startswith(("hint", "help"))]
    lines = [ln for ln in lines if not ln.startswith("No solution found")]
    if not lines:
        return "uv failed"
    last = re.sub(r"^And because ", "Because ", lines[-1])
    return last[:400]


def lock_state(root: Path, spec: Spec) -> str:
    """"missing", "fresh" or "stale"."""
    return pinned_state(root / LOCK_FILE, spec)


def pinned_state(path: Path, spec: Spec) -> str:
    if not path.exists():
        return "missing"
    found = _DIGEST.search(path.read_text(errors="replace")[:2000])
    return "fresh" if found and found.group(1) == input_digest(spec) else "stale"
