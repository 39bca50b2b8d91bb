"""Processes, the listening socket and shutdown.

The supervisor binds one listening socket per worker, all on the same port with
SO_REUSEPORT, and forks N workers, each an asyncio (uvloop) event loop running uvicorn's
httptools protocol with one predict thread. Per-worker sockets because the kernel then
spreads connections evenly over the workers: with one shared socket, the first worker to
wake accepts a whole burst (24 of 32 keep-alive connections was typical), leaving the other
predicting tiny batches at a high cost per row. The sockets are bound before forking, so
port 0 still works, and a restarted worker takes over its predecessor's socket.

SIGTERM (``docker stop``) is forwarded to every worker; each stops accepting, lets the
requests it has finish and exits; the supervisor exits when all have. A worker that crashes
is restarted; one whose model cannot be loaded stops the whole server with exit code 3, so
the container fails visibly instead of answering 503 forever.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import socket
import sys
import time
from types import FrameType

from .config import ConfigError, Settings, load_settings
from .metrics import SharedRegion

log = logging.getLogger("dockyard_serve")

EXIT_CONFIG = 2
EXIT_MODEL = 3
_CRASH_LIMIT = 5  # restarts within _CRASH_WINDOW seconds before giving up
_CRASH_WINDOW = 60.0


def main() -> int:
    """Entry point of ``python -m dockyard_serve``; returns the process exit code."""
    sys.dont_write_bytecode = True  # read-only root filesystem: never try to write .pyc
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"dockyard_serve: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    _configure_logging(settings.log_level)
    try:
        sockets = bind(settings.host, settings.port, settings.workers)
    except OSError as exc:  # port taken, address not on this host...
        print(
            f"dockyard_serve: error: cannot listen on {settings.host}:{settings.port}: {exc}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    host, port = sockets[0].getsockname()[:2]
    log.info("listening on http://%s:%d with %d worker(s)", host, port, settings.workers)
    if settings.workers == 1:
        return run_worker(settings, sockets[0], SharedRegion(1), 0)
    return Supervisor(settings, sockets).run()


def bind(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on one port (SO_REUSEPORT), or one shared socket where
    the platform lacks SO_REUSEPORT (workers then take turns on it)."""
    reuse_port = count > 1 and hasattr(socket, "SO_REUSEPORT")
    first = _listen(host, port, reuse_port)
    if not reuse_port:
        return [first] * count
    port = first.getsockname()[1]  # port 0 resolved: the others join the same one
    return [first, *(_listen(host, port, True) for _ in range(count - 1))]


def _listen(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_worker(settings: Settings, sock: socket.socket, region: SharedRegion, slot: int) -> int:
    """Serve until SIGTERM/SIGINT; the return value is the worker's exit code."""
    _limit_native_threads(settings.threads_per_worker)
    import uvicorn

    from .app import App
    from .metrics import Metrics
    from .protocol import protocol_class

    exit_code = 0

    def on_fatal(exc: BaseException) -> None:
        nonlocal exit_code
        exit_code = EXIT_MODEL
        server.should_exit = True

    app = App(settings, Metrics(region, slot), on_fatal)
    config = uvicorn.Config(
        app,
        # httptools, with header/body deadlines, a header size cap and lingering close.
        http=protocol_class(
            settings.header_timeout_s, settings.body_timeout_s, settings.max_header_bytes
        ),
        limit_concurrency=settings.limit_concurrency,
        loop=_fastest("uvloop", "asyncio"),
        ws="none",
        lifespan="on",
        access_log=False,
        server_header=False,
        log_level=settings.log_level,
        # In-flight requests get their own deadline plus a margin to finish before exit.
        timeout_graceful_shutdown=int(settings.timeout_s) + 5,
        timeout_keep_alive=5,
    )
    server = uvicorn.Server(config)

    # Until uvicorn installs its own handlers, a signal just asks the server to stop (it will
    # shut down right after starting). uvicorn re-raises the signal it caught once it has
    # shut down; this handler is what it restores, so the worker then returns and exits 0.
    def stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    server.run(sockets=[sock])
    return exit_code


class Supervisor:
    """Forks the workers, restarts crashed ones, forwards SIGTERM and waits for them."""

    def __init__(self, settings: Settings, sockets: list[socket.socket]) -> None:
        self.settings = settings
        self.sockets = sockets
        # Mapped before forking so that every worker shares it (metrics and readiness).
        self.region = SharedRegion(settings.workers)
        self.children: dict[int, int] = {}  # pid -> slot
        self.stopping = False
        self.exit_code = 0
        self.crashes: list[float] = []

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        _limit_native_threads(self.settings.threads_per_worker)
        _preload(self.settings)
        for slot in range(self.settings.workers):
            self._spawn(slot)
        while self.children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid in self.children:
                slot = self.children.pop(pid)
                self._on_exit(pid, slot, os.waitstatus_to_exitcode(status))
        return self.exit_code

    def _spawn(self, slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
                for index, other in enumerate(self.sockets):
                    if other is not self.sockets[slot] and index != slot:
                        other.close()  # only its own socket: a dead one's must not linger
                code = run_worker(self.settings, self.sockets[slot], self.region, slot)
            except BaseException:
                logging.getLogger("dockyard_serve").exception("worker %d failed", slot)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)  # never return into the supervisor's loop
        self.children[pid] = slot

    def _on_exit(self, pid: int, slot: int, code: int) -> None:
        if self.stopping:
            return
        if code == EXIT_MODEL:
            log.error("worker %d could not load the model; stopping", pid)
            self.exit_code = EXIT_MODEL
            self._stop()
            return
        now = time.monotonic()
        self.crashes = [t for t in self.crashes if now - t < _CRASH_WINDOW] + [now]
        if len(self.crashes) > _CRASH_LIMIT:
            log.error(
                "workers keep crashing (%d in %.0fs); stopping", len(self.crashes), _CRASH_WINDOW
            )
            self.exit_code = 1
            self._stop()
            return
        log.warning("worker %d exited with %d; restarting it", pid, code)
        self._spawn(slot)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s: draining", signal.Signals(signum).name)
        self._stop()

    def _stop(self) -> None:
        if not self.stopping:
            # Our copies of the listening sockets would keep them open after the workers
            # close theirs: connections would queue with nobody to accept them, instead of
            # being refused so that a load balancer tries another replica.
            for sock in self.sockets:
                sock.close()
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)


def _preload(settings: Settings) -> None:
    """Import scikit-learn once, before forking, when the model is a pickle.

    Importing it (numpy, scipy, pandas) costs seconds of CPU; done in every worker at once it
    multiplies start-up time, while forked workers share the imported code for free. Only
    imports: no model is loaded and no thread pool used here, which keeps fork() safe.
    """
    if settings.predictor or settings.model_path is None:
        return
    from .inspect_model import detect_kind

    try:
        kind = settings.model_kind or detect_kind(settings.model_path)
        if kind == "sklearn":
            import joblib  # noqa: F401
            import sklearn.base  # noqa: F401
    except Exception:  # the worker will report any real problem when it loads the model
        return


def _limit_native_threads(threads: int) -> None:
    """Cap BLAS/OpenMP pools per worker (before numpy is imported), unless the user did."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))


def _fastest(module: str, fallback: str) -> str:
    """The C implementation (uvloop) when installed, else the pure-Python one."""
    try:
        importlib.import_module(module)
    except ImportError:
        return fallback
    return module


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s",
        stream=sys.stderr,
    )
