"""Small pieces every Compose service definition is made of: labels, healthchecks, limits, ports.

Values are plain dicts and lists for PyYAML. Compose interpolates `$` in every string, so text
that must reach the container as written goes through `literal`; the only `${...}` in a
generated file are references to `.env` made by `ref`.
"""

from __future__ import annotations

from typing import Any

from dockyard.spec.stack import Published, Resources

LABEL_PROJECT = "dev.dockyard.project"
LABEL_ROLE = "dev.dockyard.role"
NETWORK = "backend"
WORKDIR = "/workspace"
HEALTH_SCRIPT = "/opt/dockyard/runtime/healthcheck.py"

Doc = dict[str, Any]


def literal(text: str) -> str:
    """Text Compose must not interpolate (`$HOME` stays `$HOME` in the container)."""
    return text.replace("$", "$$")


def ref(var: str) -> str:
    """A value from `.env`; a clear error from Compose when it is missing."""
    return f"${{{var}:?run dockyard compose}}"


def labels(project_key: str, role: str) -> Doc:
    return {LABEL_PROJECT: project_key, LABEL_ROLE: role}


def healthcheck(test: list[str], *, interval: str = "5s", start: str = "30s",
                retries: int = 10) -> Doc:
    """Every long-running service has one: `depends_on: service_healthy` and `up --wait`
    read it."""
    return {"test": test, "interval": interval, "timeout": "5s", "retries": retries,
            "start_period": start}


def http_check(url: str) -> list[str]:
    """An HTTP probe with the image's own python3 (no curl in slim images)."""
    code = f"import urllib.request as u; u.urlopen({url!r}, timeout=4)"
    return ["CMD", "python3", "-c", code]


def deploy(resources: Resources, gpu: bool = False, replicas: int = 0) -> Doc:
    """Limits from the spec; GPUs as an NVIDIA device reservation (Compose's way)."""
    doc: Doc = {}
    if replicas > 1:
        doc["replicas"] = replicas
    limits: Doc = {}
    if resources.cpus is not None:
        limits["cpus"] = f"{resources.cpus:g}"
    if resources.memory:
        limits["memory"] = resources.memory
    res: Doc = {"limits": limits} if limits else {}
    if gpu:
        res["reservations"] = {"devices": [
            {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]}
    if res:
        doc["resources"] = res
    return doc


def ports(published: tuple[Published, ...]) -> list[str]:
    return [f"{p.host}:{p.port}:{p.target}" for p in published]


def env_doc(pairs: tuple[tuple[str, str], ...]) -> Doc:
    """User-given environment, taken literally."""
    return {key: literal(value) for key, value in pairs}


def common(project_key: str, role: str) -> Doc:
    """What every service of a stack shares: its network, labels and no privilege gains."""
    return {"networks": [NETWORK], "labels": labels(project_key, role),
            "security_opt": ["no-new-privileges:true"]}


# The order keys appear in, whatever order the builders set them in: what runs, then how.
KEY_ORDER = ("image", "pull_policy", "profiles", "command", "restart", "user", "working_dir",
             "environment", "secrets", "read_only", "tmpfs", "volumes", "ports", "depends_on",
             "healthcheck", "deploy",
             "networks", "labels", "cap_drop", "security_opt")


def finish(service: Doc, *, deploy_doc: Doc, published: tuple[Published, ...]) -> Doc:
    """Add the optional keys only when they have content, so the file stays short."""
    if published:
        service["ports"] = ports(published)
    if deploy_doc:
        service["deploy"] = deploy_doc
    rank = {key: i for i, key in enumerate(KEY_ORDER)}
    return dict(sorted(service.items(), key=lambda item: rank.get(item[0], len(rank))))


def memory_mb(value: str) -> int:
    """'512m', '2g', '1.5GiB' → MiB (what Spark's --memory and limits need)."""
    text = value.strip().lower().rstrip("b").rstrip("i").strip()
    factor = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}.get(text[-1:], 1 / 2**20)
    number = text.rstrip("kmgt").strip()
    return max(1, int(float(number) * factor))
