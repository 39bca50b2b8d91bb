"""Workload → `docker run` argv (without the client's path), and the client environment that
carries its secrets.

Secrets are passed as `-e NAME` with the value in the docker client's own environment, so no
`ps` and no `-v` log shows it. What `docker run` cannot say for one container (dependencies,
profiles, replicas, file secrets, a volume shared through the stack) is refused, not dropped.
"""

from __future__ import annotations

import csv
import io
import shlex
from collections.abc import Mapping

from dockyard.workload import Mount, Port, Probe, Workload


class NotRenderable(ValueError):
    """The workload has a field this target cannot express."""


def run_argv(w: Workload, *, detach: bool, tty: bool = False) -> list[str]:
    _check(w)
    argv = ["run"]
    for key, value in w.labels:
        argv += ["--label", f"{key}={value}"]
    if w.no_new_privileges:
        argv += ["--security-opt", "no-new-privileges"]
    for cap in w.drop_caps:
        argv += ["--cap-drop", cap]
    if w.remove:
        argv.append("--rm")
    argv.append("-d" if detach else "-i")
    if tty:
        argv.append("-t")
    argv += _flags(w)
    return [*argv, w.image, *w.command]


def _flags(w: Workload) -> list[str]:
    argv: list[str] = []
    for flag, value in (("--name", w.name), ("-w", w.workdir),
                        ("--user", f"{w.user.uid}:{w.user.gid}" if w.user else ""),
                        ("--stop-timeout", str(w.stop_timeout) if w.stop_timeout else ""),
                        ("--restart", w.restart)):
        if value:
            argv += [flag, value]
    if w.read_only:
        argv += ["--read-only", "--tmpfs", "/tmp"]
    for mount in w.mounts:
        argv += ["--mount", mount_arg(mount)]
    for port in w.ports:
        argv += ["-p", port_arg(port)]
    for var in w.env:
        argv += ["-e", var.name if var.secrets else f"{var.name}={var.text}"]
    argv += _resources(w)
    if w.probe:
        argv += probe_args(w.probe)
    return argv


def _resources(w: Workload) -> list[str]:
    argv: list[str] = []
    if w.resources.cpus is not None:
        argv += ["--cpus", f"{w.resources.cpus:g}"]
    if w.resources.memory:
        argv += ["--memory", w.resources.memory]
    if w.resources.gpus:
        argv += ["--gpus", "all" if w.resources.gpus < 0 else str(w.resources.gpus)]
    return argv


def _check(w: Workload) -> None:
    cannot = [name for name, value in (
        ("depends_on", w.depends_on), ("profiles", w.profiles), ("secret_files", w.secret_files),
        ("replicas", w.replicas != 1),
        ("user from the project (resolve the uid first)",
         w.user is not None and (w.user.uid is None or w.user.gid is None)),
        ("a stack volume", any(m.kind != "bind" for m in w.mounts))) if value]
    if cannot:
        raise NotRenderable(f"docker run cannot express {', '.join(cannot)} ({w.name or w.role})")


def mount_arg(mount: Mount) -> str:
    """`--mount`'s value. Docker reads it as one CSV record, so a field holding a comma or a
    quote (a project folder named `a,b`) is quoted the CSV way instead of splitting."""
    fields = ["type=bind", f"source={mount.source}", f"target={mount.target}"]
    if mount.read_only:
        fields.append("readonly")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def port_arg(port: Port) -> str:
    return f"{port.host_ip}:{port.host_port}:{port.container_port}"


def probe_args(p: Probe) -> list[str]:
    if p.shell:
        test = p.shell
    elif p.http:
        code = f"import urllib.request as u; u.urlopen({p.http!r}, timeout=4)"
        test = shlex.join(["python3", "-c", code])
    else:
        test = shlex.join(p.command)
    return ["--health-cmd", test, "--health-interval", p.interval, "--health-timeout",
            p.timeout, "--health-retries", str(p.retries), "--health-start-period",
            p.start_period]


def child_env(w: Workload, secrets: Mapping[str, str]) -> dict[str, str]:
    """The docker client's environment for this workload's secret variables: each made from
    the secrets' values (an optional secret without one is left out)."""
    values: dict[str, str] = {}
    for var in w.env:
        if not var.secrets:
            continue
        missing = [s.name for s in var.secrets if s.name not in secrets]
        if any(s.required for s in var.secrets if s.name in missing):
            raise NotRenderable(f"no value for the secret {missing[0]} ({var.name})")
        if missing:
            continue
        values[var.name] = "".join(p if isinstance(p, str) else secrets[p.name]
                                   for p in var.parts)
    return values
