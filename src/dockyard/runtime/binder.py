"""Binder's `postBuild` and `start` scripts, run inside dockyard images.

Usage:
    python3 binder.py start CMD [ARG...]   the image's ENTRYPOINT when the project has a start
    python3 binder.py postbuild SCRIPT     a build step, as the image user

`start` follows Binder's contract: the script gets the command as its arguments and ends with
`exec "$@"`, so whatever it exports is visible to the command (lab, run, serve alike). Its path
comes from DOCKYARD_START; when that file is missing (a mounted folder without it), the command
runs as it is rather than not at all.

A script needs no execute bit (git checkouts and archives often lose it, and the image user
cannot chmod a file root copied in): without one, its `#!` line names the interpreter, else bash.
Only the standard library is used, so `python3 -I -S` can run this before any venv is in play.
"""

from __future__ import annotations

import os
import shlex
import sys


def script_argv(path: str) -> list[str]:
    """How to execute `path`: itself when executable, else through its `#!` line, else bash."""
    if os.access(path, os.X_OK):
        return [path]
    with open(path, "rb") as fh:
        first = fh.readline(400).decode("utf-8", errors="replace").strip()
    if first.startswith("#!"):
        return [*shlex.split(first[2:]), path]
    return ["/bin/bash", path]


def start_argv(command: list[str], start: str) -> list[str]:
    """The command wrapped by the start script, or the command alone when there is none."""
    if start and os.path.isfile(start):
        return [*script_argv(start), *command]
    if start:
        print(f"dockyard: start script {start} not found; running the command without it",
              file=sys.stderr)
    return command


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[1] == "postbuild":
        target = script_argv(argv[2])
    elif len(argv) >= 2 and argv[1] == "start":
        target = start_argv(argv[2:], os.environ.get("DOCKYARD_START", ""))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if not target:
        print("dockyard: no command to run", file=sys.stderr)
        return 2
    sys.stdout.flush()
    os.execvp(target[0], target)
    return 127  # not reached: exec replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv))
