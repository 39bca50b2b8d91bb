"""`FakeEngine`: an `Engine` whose runner records every command and answers from fixtures.

Use cases get it instead of a real engine in unit tests: the argv they would have run is
recorded (`calls`, `commands`), and what Docker would have said comes from `answer` rules
matched on the start of the docker arguments (the newest matching rule wins; no rule: exit 0,
no output). Nothing is started.

    engine = FakeEngine().answer("inspect", stdout="true\\n")
    start_lab(engine, project, "img")
    assert engine.commands[-1][0] == "run"
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from dockyard.engine._cmd import Client, Engine
from dockyard.engine.runner import Result

CLIENT = Client("/usr/bin/docker", "27.0.0", True, "27.0.0")


@dataclass(frozen=True)
class Call:
    args: tuple[str, ...]  # docker's arguments (the client's path left out)
    env: Mapping[str, str] = field(default_factory=dict)  # set beyond this process's own
    mode: str = "captured"  # captured, streamed, foreground, piped
    input_text: str | None = None


@dataclass(frozen=True)
class Answer:
    prefix: tuple[str, ...]  # ("compose", "up") also matches compose's own options between
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""
    once: bool = False  # used up by the first command it answers
    then: Callable[[tuple[str, ...]], None] | None = None  # what docker would also do (files)

    def matches(self, args: tuple[str, ...]) -> bool:
        return command_of(args)[:len(self.prefix)] == self.prefix


_COMPOSE_OPTIONS = ("--ansi", "--project-name", "--project-directory", "--file", "--profile")


def command_of(args: tuple[str, ...]) -> tuple[str, ...]:
    """The docker arguments with `docker compose`'s global options left out
    (`compose --ansi never --project-name p up -d` → `compose up -d`)."""
    if args[:1] != ("compose",):
        return args
    rest = list(args[1:])
    while rest and rest[0] in _COMPOSE_OPTIONS:
        rest = rest[2:]
    return ("compose", *rest)


class FakeRunner:
    """A `Runner` that records and answers."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.answers: list[Answer] = []

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            input_text: str | None = None, timeout: float | None = None,
            on_line: Callable[[str], None] | None = None, foreground: bool = False,
            stdin_from: Sequence[str] | None = None) -> Result:
        args = tuple(argv[1:])
        mode = ("foreground" if foreground else "streamed" if on_line
                else "piped" if stdin_from else "captured")
        extra = {k: v for k, v in (env or {}).items()
                 if os.environ.get(k) != v and k != "DOCKER_BUILDKIT"}
        self.calls.append(Call(args, extra, mode, input_text))
        answer = next((a for a in reversed(self.answers) if a.matches(args)), Answer(()))
        if answer.once:
            self.answers.remove(answer)
        if answer.then is not None:
            answer.then(args)
        if on_line is not None:
            for line in answer.stdout.splitlines():
                on_line(line)
        return Result(tuple(argv), answer.returncode, answer.stdout, answer.stderr)


class FakeEngine(Engine):
    """An Engine over a `FakeRunner`, with a client that has BuildKit and an answering
    engine (so `ping` asks nothing)."""

    def __init__(self) -> None:
        self.fake = FakeRunner()
        super().__init__(runner=self.fake, client=CLIENT)

    def answer(self, *prefix: str, stdout: str = "", stderr: str = "", returncode: int = 0,
               once: bool = False,
               then: Callable[[tuple[str, ...]], None] | None = None) -> FakeEngine:
        """Answer commands starting with PREFIX ("inspect"; "compose", "up"); a `once` answer
        is given once, before the older ones (what changes between two calls); `then` is
        called with the arguments (to write a file docker would write, like --iidfile)."""
        self.fake.answers.append(Answer(tuple(prefix), returncode, stdout, stderr, once, then))
        return self

    @property
    def calls(self) -> list[Call]:
        return self.fake.calls

    @property
    def commands(self) -> list[tuple[str, ...]]:
        """Every command's arguments, compose's global options left out."""
        return [command_of(c.args) for c in self.fake.calls]

    def ran(self, *prefix: str) -> list[Call]:
        """The calls whose arguments (compose's global options left out) start with
        PREFIX."""
        return [c for c in self.fake.calls if command_of(c.args)[:len(prefix)] == prefix]
