"""The one place dockyard starts a process: the `Runner` protocol and its subprocess runner.

Every process that talks to Docker or Compose (and the few local tools beside them: uv,
debootstrap, tar) is started here, in one of three modes: captured (output returned),
streamed (each line handed to a callback as it comes, stdout and stderr merged) or foreground
(the terminal passed through). Each command is logged at debug level (`-v`), with secret
values masked. Tests replace the runner (see `dockyard.engine.fake`), never `subprocess`.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("dockyard.engine")


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class RunTimeout(Exception):
    """The process did not finish within its timeout (it was killed)."""

    def __init__(self, argv: Sequence[str], timeout: float) -> None:
        super().__init__(f"{argv[0]} timed out after {timeout:.0f}s")
        self.argv, self.timeout = tuple(argv), timeout


class Runner(Protocol):
    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            input_text: str | None = None, timeout: float | None = None,
            on_line: Callable[[str], None] | None = None, foreground: bool = False,
            stdin_from: Sequence[str] | None = None) -> Result:
        """Run ARGV to completion. `env` is the whole environment (None: this process's);
        `on_line` streams; `foreground` passes the terminal through (nothing captured);
        `stdin_from` pipes another command's output in (`tar -c . | docker import -`)."""
        ...


class ProcessRunner:
    """The runner: subprocesses."""

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            input_text: str | None = None, timeout: float | None = None,
            on_line: Callable[[str], None] | None = None, foreground: bool = False,
            stdin_from: Sequence[str] | None = None) -> Result:
        log.debug("$ %s", " ".join(shown(argv)))
        full_env = dict(env) if env is not None else None
        if foreground:
            code = subprocess.run(list(argv), check=False, env=full_env).returncode
            return Result(tuple(argv), code, "", "")
        if on_line is not None:
            return _stream(argv, on_line, full_env)
        if stdin_from is not None:
            return _piped(stdin_from, argv, full_env)
        try:
            proc = subprocess.run(list(argv), input=input_text, capture_output=True, text=True,
                                  check=False, timeout=timeout, env=full_env)
        except subprocess.TimeoutExpired:
            raise RunTimeout(argv, timeout or 0) from None
        return Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


def _stream(argv: Sequence[str], on_line: Callable[[str], None],
            env: dict[str, str] | None) -> Result:
    lines: list[str] = []
    with subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            on_line(line.rstrip("\n"))
    output = "".join(lines)
    return Result(tuple(argv), proc.returncode, output, output)


def _piped(first: Sequence[str], argv: Sequence[str], env: dict[str, str] | None) -> Result:
    log.debug("$ %s |", " ".join(shown(first)))
    source = subprocess.Popen(list(first), stdout=subprocess.PIPE)
    proc = subprocess.run(list(argv), stdin=source.stdout, capture_output=True, text=True,
                          check=False, env=env)
    source.wait()
    return Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


_SECRET_NAME = re.compile(r"(TOKEN|KEY|PASSWORD|SECRET|CREDENTIAL)", re.I)
_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def shown(argv: Sequence[str]) -> list[str]:
    """argv as logged: values of secret-looking `NAME=value` arguments and URL credentials
    masked. (dockyard passes secrets by name; this guards what a caller might still add.)"""
    masked = []
    for arg in argv:
        name, sep, _value = arg.partition("=")
        if sep and _SECRET_NAME.search(name) and "," not in name and "/" not in name:
            arg = f"{name}=***"
        masked.append(_URL_CREDENTIALS.sub(r"\1***@", arg))
    return masked
