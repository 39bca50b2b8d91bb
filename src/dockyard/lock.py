"""`dockyard.lock`: every dependency pinned, with hashes, for the image's Python and platform.

uv resolves on the host for the image's target (`--python-version`, `--python-platform`), so the
lock is right for the container whatever the host runs. The header records a digest of the
inputs; a lock whose digest differs from the current inputs is stale.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dockyard import files
from dockyard.errors import UserError
from dockyard.generate import LOCK_FILE, indexes_for, input_digest, merged_requirements
from dockyard.generate.artifacts import header
from dockyard.spec import Spec

_DIGEST = re.compile(r"^# input-sha256: ([0-9a-f]{64})$", re.M)
# Debian bookworm ships glibc 2.36: wheels for newer glibc would not load in the image.
_PLATFORM = {"x86_64": "x86_64-manylinux_2_36", "aarch64": "aarch64-manylinux_2_36",
             "arm64": "aarch64-manylinux_2_36"}


LOCK_TIMEOUT = 900.0


@dataclass(frozen=True)
class LockResult:
    path: str
    packages: int
    digest: str


def uv_binary() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


def lock(root: Path, spec: Spec, ca_cert: Path | None) -> LockResult:
    """Resolve and write dockyard.lock; a resolution failure is the user's to fix."""
    files.check_target(root, LOCK_FILE)  # before minutes of resolving, not after
    digest = input_digest(spec)
    with tempfile.TemporaryDirectory(prefix="dockyard-lock-") as tmp:
        source = Path(tmp) / "requirements.in"
        source.write_text("\n".join(merged_requirements(spec)) + "\n")
        out = Path(tmp) / "out.txt"
        try:
            proc = subprocess.run(_argv(spec, source, out), capture_output=True, text=True,
                                  check=False, env=_env(spec, ca_cert), timeout=LOCK_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise UserError(f"resolving the dependencies took longer than {LOCK_TIMEOUT:.0f}s "
                            "and was stopped",
                            hint="check that the package index answers (a proxy may need "
                                 "--ca-cert), or pin the dependencies more narrowly") from None
        if proc.returncode != 0:
            raise UserError(f"cannot resolve dependencies: {_reason(proc.stderr)}",
                            hint="check the package names and versions in your dependency "
                                 "files (or exclude one in dockyard.toml [dependencies])")
        body = out.read_text()
    text = (header() + f"# input-sha256: {digest}\n"
            f"# python {spec.python}, {_platform()}\n" + body)
    files.write_text(root, LOCK_FILE, text)
    return LockResult(LOCK_FILE, _count(body), digest)


def _argv(spec: Spec, source: Path, out: Path) -> list[str]:
    return [uv_binary(), "pip", "compile", str(source), "-o", str(out), "--generate-hashes",
            "--no-header", "--quiet", "--python-version", spec.python,
            "--python-platform", _platform(), "--no-annotate"]


def _env(spec: Spec, ca_cert: Path | None) -> dict[str, str]:
    """uv's environment: the indexes and strategy the build uses (`indexes_for`), passed here
    rather than in argv, where any local user could read an index's credentials."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_DEFAULT_INDEX",
                        "UV_INDEX_STRATEGY")}
    env.update(indexes_for(spec).uv_env())
    if ca_cert is not None:
        env["SSL_CERT_FILE"] = str(ca_cert)
    return env


def _platform() -> str:
    return _PLATFORM.get(platform.machine(), "x86_64-manylinux_2_36")


def _reason(stderr: str) -> str:
    # uv decorates its messages with box-drawing characters; keep only the words.
    lines = [ln.strip(" \u00d7\u2570\u2500\u25b6") for ln in stderr.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(("hint", "help"))]
    return " ".join(useful[:2])[:300] if useful else "uv failed"


def _count(body: str) -> int:
    return sum(1 for ln in body.splitlines() if ln and not ln[0].isspace() and "==" in ln)


def lock_state(root: Path, spec: Spec) -> str:
    """"missing", "fresh" or "stale"."""
    path = root / LOCK_FILE
    if not path.exists():
        return "missing"
    found = _DIGEST.search(path.read_text(errors="replace")[:2000])
    return "fresh" if found and found.group(1) == input_digest(spec) else "stale"
