"""`kubectl`, through the one runner: argv built here, failures mapped to one-line errors.

Secrets never travel in argv: a Secret's manifest is handed to `kubectl apply -f -` on stdin
(the runner's `input_text`), and is applied server-side, so no
`last-applied-configuration` annotation keeps a copy of its data.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from dockyard.engine.runner import ProcessRunner, Result, Runner, RunTimeout
from dockyard.errors import EngineError, UserError

FIELD_MANAGER = "dockyard"
_UNREACHABLE = ("connection refused", "Unable to connect to the server", "no such host",
                "context was not found", "i/o timeout", "couldn't get current server API",
                "no configuration has been provided", "the server could not find",
                "dial tcp", "current-context is not set", "invalid configuration",
                "was refused")


def kubectl_binary() -> str:
    """$DOCKYARD_KUBECTL, else `kubectl` on PATH."""
    forced = os.environ.get("DOCKYARD_KUBECTL")
    found = forced or shutil.which("kubectl")
    if not found or (forced and not os.access(forced, os.X_OK)):
        raise UserError("kubectl is not installed (deploy drives the cluster with it)",
                        hint="install kubectl 1.30 or newer (https://kubernetes.io/docs/tasks/"
                             "tools/), or point DOCKYARD_KUBECTL at it")
    return found


@dataclass(frozen=True)
class Kubectl:
    """kubectl against one context (`""`: kubectl's current context)."""

    runner: Runner
    binary: str = "kubectl"
    context: str = ""

    @classmethod
    def find(cls, context: str = "", runner: Runner | None = None) -> Kubectl:
        return cls(runner or ProcessRunner(), kubectl_binary(), context)

    def argv(self, *args: str) -> tuple[str, ...]:
        scope = ("--context", self.context) if self.context else ()
        return (self.binary, *scope, *args)

    def run(self, *args: str, input_text: str | None = None, timeout: float = 120,
            check: bool = True) -> Result:
        argv = self.argv(*args)
        try:
            result = self.runner.run(argv, input_text=input_text, timeout=timeout)
        except FileNotFoundError:
            raise UserError(f"kubectl not found at {self.binary}",
                            hint="install kubectl, or point DOCKYARD_KUBECTL at it") from None
        except RunTimeout:
            raise EngineError(f"kubectl {' '.join(args[:2])} timed out after {timeout:.0f}s",
                              argv=argv) from None
        if check and result.returncode != 0:
            raise self.error(result, args)
        return result

    def check_reachable(self, timeout: int = 10) -> None:
        """The cluster's API server answers (`kubectl version`): else a UserError + hint."""
        args = ("version", "-o", "json", f"--request-timeout={timeout}s")
        result = self.run(*args, timeout=timeout + 20, check=False)
        if result.returncode != 0:
            error = self.error(result, args)
            if isinstance(error, UserError):
                raise error
            raise self.unreachable(error.message.split(": ", 1)[-1])

    def unreachable(self, detail: str) -> UserError:
        where = f"context {self.context}" if self.context else "kubectl's current context"
        detail = detail.removeprefix("error: ")
        return UserError(f"no Kubernetes cluster answers ({where}): {detail}",
                         hint="start one (kind create cluster; k3d cluster create) or pick one "
                              "with --context; `kubectl config get-contexts` lists them")

    def error(self, result: Result, args: tuple[str, ...]) -> UserError | EngineError:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        last = tail.splitlines()[-1].strip() if tail else f"exit code {result.returncode}"
        if any(marker in tail for marker in _UNREACHABLE):
            return self.unreachable(last)
        return EngineError(f"kubectl {' '.join(args[:2])} failed: {last}", argv=result.argv,
                           returncode=result.returncode, stderr_tail=tail)
