"""Settings of the model server, read once from ``DOCKYARD_*`` environment variables.

The container is the only configuration surface (no files, no flags), so that the same image
runs unchanged under ``docker run -e``, compose and Kubernetes.

=========================  ===========================================================
``DOCKYARD_MODEL``          path of the model file (joblib/pickle, .json/.ubj, .txt, .onnx)
``DOCKYARD_MODEL_SHA256``   the model file's SHA-256: any other file is refused (exit 3)
``DOCKYARD_PREDICTOR``      ``module:Class`` of a user predictor (instead of, or with, a model)
``DOCKYARD_MODEL_KIND``     override kind sniffing: sklearn, xgboost, lightgbm, onnx, predictor
``DOCKYARD_HOST``           bind address (default 0.0.0.0: the container's port mapping decides)
``DOCKYARD_PORT``           port (default 8080; 0 picks a free one, useful in tests)
``DOCKYARD_WORKERS``        processes (default: CPUs available to the container; 1 for predictors)
``DOCKYARD_MAX_BATCH``      rows per vectorised predict call (default 64; 1 disables batching)
``DOCKYARD_MAX_WAIT_MS``    cap on how long a request waits for companions (default 10 ms;
                            the wait is also never longer than one predict call)
``DOCKYARD_QUEUE_LIMIT``    queued requests per worker before 503 (default 512)
``DOCKYARD_TIMEOUT_S``      per-request deadline, queueing included, before 504 (default 30)
``DOCKYARD_MAX_BODY_BYTES`` request body limit before 413 (default 10 MiB)
``DOCKYARD_MAX_ROWS``       rows in one request before 413 (default 10,000)
``DOCKYARD_HEADER_TIMEOUT_S`` request line and headers must arrive within this (default 5)
``DOCKYARD_BODY_TIMEOUT_S`` the body must arrive within this after the headers (default 10)
``DOCKYARD_MAX_HEADER_BYTES`` request line and headers larger than this get 431 (32 KiB)
``DOCKYARD_API_KEY``        when set, /predict, /info and /metrics need it (401 otherwise)
``DOCKYARD_IMAGE_ID``       shown by /info so a response can be traced to an image
``DOCKYARD_LOG_LEVEL``      debug, info (default), warning, error
=========================  ===========================================================
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A ``DOCKYARD_*`` variable has a value the server cannot use."""


@dataclass(frozen=True)
class Settings:
    """Resolved server settings; build with :func:`load_settings`."""

    model_path: str | None = None
    model_sha256: str | None = None
    predictor: str | None = None
    model_kind: str | None = None
    host: str = "0.0.0.0"
    port: int = 8080
    workers: int = 1
    max_batch: int = 64
    max_wait_ms: float = 10.0
    queue_limit: int = 512
    timeout_s: float = 30.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_rows: int = 10_000
    header_timeout_s: float = 5.0
    body_timeout_s: float = 10.0
    max_header_bytes: int = 32 * 1024
    api_key: str | None = None
    image_id: str | None = None
    log_level: str = "info"
    cpus: int = 1

    @property
    def limit_concurrency(self) -> int:
        """Connections plus requests a worker holds before uvicorn answers 503 itself: the
        queue, one batch, as many again reading their bodies, and room for idle keep-alive
        connections (which count too)."""
        return max(256, 2 * self.queue_limit + self.max_batch)

    @property
    def threads_per_worker(self) -> int:
        """Native threads each worker may use, so N workers do not oversubscribe the CPUs."""
        return max(1, self.cpus // max(1, self.workers))


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise :class:`ConfigError` naming the variable."""
    env = os.environ if env is None else env
    model = env.get("DOCKYARD_MODEL") or None
    predictor = env.get("DOCKYARD_PREDICTOR") or None
    if model is None and predictor is None:
        raise ConfigError("set DOCKYARD_MODEL (a model file) or DOCKYARD_PREDICTOR (module:Class)")
    if predictor is not None and ":" not in predictor:
        raise ConfigError(f"DOCKYARD_PREDICTOR must look like module:Class, got {predictor!r}")
    sha256 = (env.get("DOCKYARD_MODEL_SHA256") or "").strip().lower() or None
    if sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ConfigError(f"DOCKYARD_MODEL_SHA256 must be 64 hex digits, got {sha256!r}")
    cpus = available_cpus()
    # A predictor usually wraps a large framework model (torch, transformers) that already uses
    # every core and would be copied into each process: one worker is the safe default there.
    default_workers = 1 if predictor else cpus
    return Settings(
        model_path=model,
        model_sha256=sha256,
        predictor=predictor,
        model_kind=env.get("DOCKYARD_MODEL_KIND") or None,
        host=env.get("DOCKYARD_HOST") or "0.0.0.0",
        port=_int(env, "DOCKYARD_PORT", 8080, minimum=0),
        workers=_int(env, "DOCKYARD_WORKERS", default_workers, minimum=1),
        max_batch=_int(env, "DOCKYARD_MAX_BATCH", 64, minimum=1),
        max_wait_ms=_float(env, "DOCKYARD_MAX_WAIT_MS", 10.0, minimum=0.0),
        queue_limit=_int(env, "DOCKYARD_QUEUE_LIMIT", 512, minimum=1),
        timeout_s=_float(env, "DOCKYARD_TIMEOUT_S", 30.0, minimum=0.001),
        max_body_bytes=_int(env, "DOCKYARD_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1),
        max_rows=_int(env, "DOCKYARD_MAX_ROWS", 10_000, minimum=1),
        header_timeout_s=_float(env, "DOCKYARD_HEADER_TIMEOUT_S", 5.0, minimum=0.001),
        body_timeout_s=_float(env, "DOCKYARD_BODY_TIMEOUT_S", 10.0, minimum=0.001),
        max_header_bytes=_int(env, "DOCKYARD_MAX_HEADER_BYTES", 32 * 1024, minimum=1024),
        api_key=env.get("DOCKYARD_API_KEY") or None,
        image_id=env.get("DOCKYARD_IMAGE_ID") or None,
        log_level=(env.get("DOCKYARD_LOG_LEVEL") or "info").lower(),
        cpus=cpus,
    )


def available_cpus() -> int:
    """CPUs this process may really use: affinity mask, then the cgroup CPU quota.

    ``os.cpu_count()`` reports the host's cores, which inside a container limited with
    ``--cpus=2`` would start far too many workers, each with its own copy of the model.
    """
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def _cgroup_cpu_quota() -> float | None:
    """CPU quota in cores from cgroup v2 ``cpu.max`` or v1 ``cfs_quota_us``; None if unlimited."""
    v2 = Path("/sys/fs/cgroup/cpu.max")
    try:
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        v1 = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
        if v1.is_file():
            quota_us = int(v1.read_text())
            period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
            return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None
    return None


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"{name} must be a finite number >= {minimum}, got {raw!r}")
    return value
