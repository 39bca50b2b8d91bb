"""Images: build with BuildKit, inspect, find a base, tag and push."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.engine._cmd import Engine
from dockyard.errors import BuildFailed, EngineError, ImageNotFound, PushDenied

# Images carry the same labels as the workloads (re-exported for the build use cases).
from dockyard.workload import LABEL_PROJECT as LABEL_PROJECT
from dockyard.workload import LABEL_ROLE as LABEL_ROLE


@dataclass(frozen=True)
class BuildRequest:
    context: Path
    dockerfile: Path
    tag: str
    base_image: str
    labels: tuple[tuple[str, str], ...] = ()
    ca_cert: Path | None = None
    target: str = ""
    no_cache: bool = False
    # BuildKit secrets given as content (id, text): written to a private temporary file for the
    # build's duration, never to the project or an argv.
    secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class BuildResult:
    image: str
    id: str
    size_bytes: int
    seconds: float
    steps: tuple[str, ...] = ()  # "[runtime 5/9] COPY . /workspace/" etc.
    cached_steps: tuple[str, ...] = field(default=())


_STEP = re.compile(r"^#(\d+) \[(.+?)\] (.*)$")
_CACHED = re.compile(r"^#(\d+) CACHED$")


def build(engine: Engine, req: BuildRequest,
          on_line: Callable[[str], None] | None = None) -> BuildResult:
    """Build on the engine through BuildKit; returns id and size, and which steps were cached."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dockyard-") as tmp:
        iid_file = Path(tmp) / "iid"
        argv = ["build", "--progress=plain", "-f", str(req.dockerfile), "-t", req.tag,
                "--iidfile", str(iid_file), "--build-arg", f"BASE_IMAGE={req.base_image}"]
        for key, value in req.labels:
            argv += ["--label", f"{key}={value}"]
        if req.ca_cert is not None:
            argv += ["--secret", f"id=ca,src={req.ca_cert}"]
        for secret_id, content in req.secrets:
            path = Path(tmp) / f"secret-{secret_id}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(content)
            argv += ["--secret", f"id={secret_id},src={path}"]
        if req.target:
            argv += ["--target", req.target]
        if req.no_cache:
            argv.append("--no-cache")
        argv.append(str(req.context))
        result = engine.docker(*argv, on_line=on_line or (lambda _line: None), check=False)
        if result.returncode != 0:  # streamed: stdout holds stderr's lines too
            raise _build_error(result.stdout, tuple(argv))
        image_id = iid_file.read_text().strip()
    steps, cached = _parse_steps(result.stdout)
    return BuildResult(req.tag, image_id, image_size(engine, image_id), time.monotonic() - started,
                       steps, cached)


def _parse_steps(log: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names: dict[str, str] = {}
    cached: list[str] = []
    for line in log.splitlines():
        if m := _STEP.match(line):
            names.setdefault(m.group(1), f"[{m.group(2)}] {m.group(3)}")
        elif (m := _CACHED.match(line)) and m.group(1) in names:
            cached.append(names[m.group(1)])
    return tuple(names.values()), tuple(cached)


# Lines that say what went wrong, in the tools' own words: apt (E:), dpkg and its scripts,
# uv (a cross and its ╰─▶ causes), pip, and shell errors.
_CAUSE = re.compile(r"^\s*(E: |dpkg: error|dpkg: dependency problems|update-alternatives: "
                    r"error|Errors were encountered|error: |ERROR: |\u00d7 |╰─▶ |\S+: line \d+: )")
_OUTPUT = re.compile(r"^#(\d+) \d+\.\d+ (.*)$")
_FAILED = re.compile(r"^#(\d+) ERROR: (.*)$")


def _build_error(log: str, argv: tuple[str, ...]) -> BuildFailed:
    """A short account of a failed build: the failing step, the tools' own error lines (or
    the step's last lines); never the RUN line over again. The whole log rides along."""
    failed = next((m for m in map(_FAILED.match, reversed(log.splitlines())) if m), None)
    if failed is None:
        lines = [ln for ln in log.splitlines() if ln.strip()]
        return BuildFailed(f"build failed: {(lines or ['unknown error'])[-1][:300]}", argv=argv,
                           stderr_tail="\n".join(lines[-12:]), hint=LOG_HINT, log=log)
    step_id, reason = failed.group(1), failed.group(2)
    step = next((m.group(3) for m in map(_STEP.match, log.splitlines())
                 if m and m.group(1) == step_id), "")
    stage = next((f"[{m.group(2)}]" for m in map(_STEP.match, log.splitlines())
                  if m and m.group(1) == step_id), "")
    output = [m.group(2) for m in map(_OUTPUT.match, log.splitlines())
              if m and m.group(1) == step_id]
    # BuildKit repeats a failed step's last lines in its summary: each line once, in order.
    causes = list(dict.fromkeys(line for line in output if _CAUSE.match(line)))
    shown = (causes or output)[-8:]
    exit_code = re.search(r"exit code: (\d+)", reason)
    what = f"exit code {exit_code.group(1)}" if exit_code else reason[:200]
    return BuildFailed(f"build failed at {stage} {short_step(step)}: {what}", argv=argv,
                       stderr_tail="\n".join(shown), hint=LOG_HINT, log=log)


def short_step(step: str, width: int = 60) -> str:
    """The first words of a step: `RUN --mount=… apt-get install …` → `RUN apt-get install`."""
    words = [w for w in step.replace("\\", " ").split() if not w.startswith("--mount")]
    text = " ".join(words)
    return text if len(text) <= width else text[:width - 3] + "..."


LOG_HINT = "rerun with -v for the full build log; fix the cause and rerun"


def log_hint(log_file: Path) -> str:
    return f"the full build log is in {log_file}; fix the cause and rerun"


def inspect_image(engine: Engine, ref: str) -> dict[str, object]:
    result = engine.docker("image", "inspect", ref, check=False)
    if result.returncode != 0:
        raise ImageNotFound(f"image {ref!r} not found", argv=result.argv,
                            returncode=result.returncode, hint="run `dockyard build` first")
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data[0]


def image_id(engine: Engine, ref: str) -> str:
    """The image's id (sha256:…), or "" when there is no such image."""
    result = engine.docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def drop_if_unnamed(engine: Engine, old_id: str, label: str) -> None:
    """Remove an image a rebuild took the name from, when dockyard made it (it carries `label`)
    and no name is left to it: nothing can refer to it any more, and each rebuild would leave
    one behind. The engine refuses while a container uses it; that is left as it is."""
    if not old_id:
        return
    out = engine.docker("image", "inspect", "--format",
                        f'{{{{index .Config.Labels "{label}"}}}} {{{{len .RepoTags}}}}',
                        old_id, check=False)
    owner, _, tags = out.stdout.strip().rpartition(" ")
    if out.returncode == 0 and owner not in ("", "<no value>") and tags == "0":
        engine.docker("rmi", old_id, check=False)


def image_exists(engine: Engine, ref: str) -> bool:
    result = engine.docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return result.returncode == 0


def latest_image(engine: Engine, *labels: tuple[str, str]) -> str:
    """The newest image carrying every label=value, by name if it has one, else by id; or ""."""
    filters = [arg for key, value in labels for arg in ("--filter", f"label={key}={value}")]
    out = engine.docker("images", *filters, "--format",
                 "{{.Repository}}:{{.Tag}} {{.ID}}").stdout.split("\n")
    if not out or not out[0].strip():
        return ""
    name, image_id = out[0].split()
    return image_id if "<none>" in name else name


def image_labels(engine: Engine, ref: str) -> dict[str, str] | None:
    """The image's labels ({} when it has none), or None when the image is not here."""
    out = engine.docker("image", "inspect", "--format", "{{json .Config.Labels}}", ref, check=False)
    if out.returncode != 0:
        return None
    labels: dict[str, str] | None = json.loads(out.stdout or "null")
    return labels or {}


def image_python(engine: Engine, ref: str) -> str:
    """The image's Python as "3.X" when its metadata says (the official images' PYTHON_VERSION,
    dockyard's base label), else ""; never runs the image."""
    out = engine.docker("image", "inspect", "--format", "{{json .Config}}", ref, check=False)
    config = json.loads(out.stdout or "null") if out.returncode == 0 else None
    if not config:
        return ""
    labels = config.get("Labels") or {}
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    found = labels.get("dev.dockyard.python") or env.get("PYTHON_VERSION", "")
    return ".".join(str(found).split(".")[:2])


def image_size(engine: Engine, ref: str) -> int:
    out = engine.docker("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip()
    return int(out or 0)


def try_pull(engine: Engine, ref: str) -> bool:
    return engine.docker("pull", "--quiet", ref, check=False, timeout=600).returncode == 0


@dataclass(frozen=True)
class PushResult:
    ref: str
    digest: str


def push(engine: Engine, source: str, ref: str) -> PushResult:
    engine.docker("tag", source, ref)
    result = engine.docker("push", ref, check=False)
    text = result.stdout + result.stderr
    if result.returncode != 0:
        registry = ref.split("/", 1)[0]
        auth = re.compile(r"unauthorized|authentication required|denied|no basic auth", re.I)
        if auth.search(text):
            reason = "\n".join(ln for ln in text.splitlines() if auth.search(ln))
            raise PushDenied(f"registry {registry} refused the push: authentication required",
                             argv=result.argv, returncode=result.returncode, stderr_tail=reason,
                             hint=f"log in first: docker login {registry}")
        last = text.strip().splitlines()[-1] if text.strip() else "unknown error"
        raise EngineError(f"push to {registry} failed: {last}", argv=result.argv,
                          returncode=result.returncode, stderr_tail=text,
                          hint="check the registry address and that it is running")
    found = re.search(r"digest: (sha256:[0-9a-f]{64})", text)
    digest = found.group(1) if found else _repo_digest(engine, ref)
    if not digest:
        raise EngineError(f"pushed {ref}, but the registry reported no digest", argv=result.argv,
                          stderr_tail=text, hint="check the registry's logs")
    return PushResult(ref, digest)


def _repo_digest(engine: Engine, ref: str) -> str:
    """The digest the engine recorded for `ref`'s repository after a push, or ""."""
    out = engine.docker("image", "inspect", "--format", "{{json .RepoDigests}}", ref, check=False)
    repo = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
    digests: list[str] = json.loads(out.stdout or "[]") if out.returncode == 0 else []
    return next((d.split("@", 1)[1] for d in digests if d.startswith(repo + "@")), "")
