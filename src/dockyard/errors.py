"""The one error tree of dockyard.

DockyardError
├── UserError        something the user can fix: bad spec, missing folder, port in use, …
│   ├── SpecError    a field of dockyard.toml / [tool.dockyard] is wrong (file, key, expected)
│   └── EngineUnavailable  no Docker engine answers (hint: `dockyard doctor`)
├── EngineError      a docker command failed: argv, exit code, tail of stderr
│   ├── BuildFailed
│   ├── ImageNotFound
│   └── PushDenied
└── NotReadyError    a server did not become ready: url, timeout, last log lines

Errors carry data and never print. The CLI maps `UserError` and `EngineError` to exit code 1 with
`error: …` and `hint: …` lines; anything else is a bug (exit 70). A failing command run inside a
container propagates that command's own exit code instead.
"""

from __future__ import annotations

from collections.abc import Sequence


class DockyardError(Exception):
    """Base of every error dockyard raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        if hint:
            self.hint = hint


class UserError(DockyardError):
    """Bad input or a state the user can change."""


class SpecError(UserError):
    """A spec file is invalid. `problems` lists every problem found, one per line."""

    def __init__(self, file: str, problems: Sequence[str], *, hint: str = "") -> None:
        self.file = file
        self.problems = tuple(problems)
        first = self.problems[0] if self.problems else "invalid"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(
            f"{file}: {first}{more}",
            hint=hint or f"fix {file}, or run `dockyard init --force` to write a fresh one",
        )


class EngineUnavailable(UserError):
    hint = "start the Docker engine, or run `dockyard doctor` to see what is missing"


class EngineError(DockyardError):
    """A docker command failed."""

    def __init__(
        self, message: str, *, argv: Sequence[str] = (), returncode: int = 1,
        stderr_tail: str = "", hint: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class BuildFailed(EngineError):
    """`log` is the whole build output, for a file the hint can name."""

    def __init__(self, message: str, *, argv: Sequence[str] = (), returncode: int = 1,
                 stderr_tail: str = "", hint: str = "", log: str = "") -> None:
        super().__init__(message, argv=argv, returncode=returncode, stderr_tail=stderr_tail,
                         hint=hint)
        self.log = log


class ImageNotFound(EngineError):
    pass


class PushDenied(EngineError):
    pass


class NotReadyError(DockyardError):
    def __init__(self, url: str, timeout: float, log_tail: str = "") -> None:
        super().__init__(
            f"{url} did not answer within {timeout:.0f}s",
            hint="see the container's last log lines above",
        )
        self.url = url
        self.timeout = timeout
        self.log_tail = log_tail


class CommandExit(Exception):
    """Not an error: a command run in a container ended with this exit code, which we pass on."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code
