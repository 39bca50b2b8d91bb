"""The ASGI application: routes, authentication, and the answer to every error.

Every failure is an answer with a status and a JSON body — malformed JSON 400, bad API key
401, oversized body 413, wrong media type 415, bad feature 422 (naming row and field), model
still loading or queue full 503 with Retry-After, deadline passed 504 — and an unexpected
exception is logged and answered 500, never left to kill the connection.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import platform
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from . import __version__
from .asgi import (
    ClientDisconnected,
    HttpError,
    Receive,
    Scope,
    Send,
    dumps,
    read_body,
    send_bytes,
    send_error,
    send_json,
)
from .batching import INPUT_ERRORS, Batcher, ModelError, Overloaded, PredictTimeout
from .config import Settings
from .inputs import BadRequest, TooManyRows, UnsupportedMediaType, parse_body
from .metrics import ROUTES, Metrics, SharedRegion
from .models import Model, ModelLoadError, load_model
from .openapi import DOCS_HTML, build_openapi
from .schema import InvalidInput

log = logging.getLogger("dockyard_serve")

_PROTECTED = {"/predict", "/info", "/metrics"}
_ROUTES = set(ROUTES)
_METHODS = {"/predict": "POST"}  # every other route is GET
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
_PROMETHEUS = b"text/plain; version=0.0.4; charset=utf-8"
#: Bodies up to this size are parsed on the event loop (well under a millisecond); larger ones
#: in the parse thread, so that /health and small requests keep being answered meanwhile.
_INLINE_PARSE_BYTES = 64 * 1024


class App:
    """The model server's ASGI app. Loads the model in the background at startup (so
    /health answers at once and /ready tells when predictions are possible)."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics | None = None,
        on_fatal: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics(SharedRegion(1), 0)
        self.model: Model | None = None
        self.batcher: Batcher | None = None
        self._on_fatal = on_fatal
        self._loading: asyncio.Task[None] | None = None
        self._api_key = settings.api_key.encode() if settings.api_key else None
        self._openapi = dumps(
            build_openapi(None, None, self._api_key is not None, settings.max_rows)
        )
        self._started = time.time()
        # One thread: large bodies are parsed one at a time, which also bounds the memory
        # that several of them can take at once.
        self._parser = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse")

    # -- model lifecycle ---------------------------------------------------------------

    def load_model(self) -> None:
        """Load the model now (blocking). Used at startup and directly by tests."""
        self.set_model(load_model(self.settings))

    def set_model(self, model: Model) -> None:
        self.batcher = Batcher(
            model,
            max_batch=self.settings.max_batch,
            max_wait_s=self.settings.max_wait_ms / 1000.0,
            queue_limit=self.settings.queue_limit,
            timeout_s=self.settings.timeout_s,
            on_batch=self.metrics.observe_batch,
            on_depth=self.metrics.set_queue_depth,
        )
        self._openapi = dumps(
            build_openapi(
                model.schema, model.info, self._api_key is not None, self.settings.max_rows
            )
        )
        self.model = model  # last: /ready turns true only when everything is in place
        self.metrics.set_ready()

    async def _load_in_background(self) -> None:
        started = time.perf_counter()
        try:
            # A thread, so /health keeps answering while a big model loads.
            model = await asyncio.to_thread(load_model, self.settings)
        except Exception as exc:
            log.error(
                "cannot load the model: %s", exc, exc_info=not isinstance(exc, ModelLoadError)
            )
            if self._on_fatal is not None:
                self._on_fatal(exc)
            return
        self.set_model(model)
        log.info(
            "model ready: %s (%s) in %.2fs, %d features",
            model.info.class_name,
            model.info.kind,
            time.perf_counter() - started,
            len(model.schema),
        )

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()
        self._parser.shutdown(wait=False)

    # -- ASGI --------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.model is None and self._loading is None:
                    self._loading = asyncio.get_running_loop().create_task(
                        self._load_in_background()
                    )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path = scope["path"]
        route = path if path in _ROUTES else "other"
        status = 500
        self.metrics.add_inflight(1)
        try:
            status = await self._route(route, scope, receive, send)
        except HttpError as err:
            status = err.status
            await send_error(send, err)
        except ClientDisconnected:
            # Nobody to answer (499), or the protocol answered 408 for a stalled body.
            status = 408 if scope.get("extensions", {}).get("dockyard.timed_out") else 499
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], path)
            await send_error(send, HttpError(500, "internal server error"))
        finally:
            self.metrics.add_inflight(-1)
            seconds = time.perf_counter() - started if route == "/predict" else None
            self.metrics.count_request(route, status, seconds)

    async def _route(self, route: str, scope: Scope, receive: Receive, send: Send) -> int:
        if route == "other":
            raise HttpError(404, f"no route {scope['path']}; see /docs")
        method = _METHODS.get(route, "GET")
        # HEAD is GET without the body (uvicorn drops it and keeps Content-Length): load
        # balancers and uptime checkers probe with it.
        if scope["method"] != method and not (method == "GET" and scope["method"] == "HEAD"):
            allow = b"GET, HEAD" if method == "GET" else method.encode()
            raise HttpError(405, f"use {method} on {route}", headers=[(b"allow", allow)])
        if route in _PROTECTED and self._api_key is not None:
            self._authenticate(scope)
        if route == "/predict":
            return await self._predict(scope, receive, send)
        return await self._get(route, send)

    def _authenticate(self, scope: Scope) -> None:
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                given = value
            elif name == b"authorization" and value[:7].lower() == b"bearer ":
                given = value[7:].strip()
            else:
                continue
            # Constant-time comparison: the key must not leak through response timing.
            if hmac.compare_digest(given, self._api_key or b""):
                return
        raise HttpError(
            401,
            "missing or wrong API key (X-API-Key or Authorization: Bearer)",
            headers=[(b"www-authenticate", b'Bearer realm="dockyard"')],
        )

    # -- /predict ----------------------------------------------------------------------

    async def _predict(self, scope: Scope, receive: Receive, send: Send) -> int:
        model, batcher = self.model, self.batcher
        if model is None or batcher is None:
            raise HttpError(503, "the model is still loading", headers=[(b"retry-after", b"1")])
        content_type, length = _body_headers(scope["headers"])
        limit = self.settings.max_body_bytes
        if length is not None and length > limit:
            raise HttpError(
                413,
                f"request body is larger than {limit} bytes",
                headers=[(b"connection", b"close")],
            )
        proba = _proba_flag(scope["query_string"])
        body = await read_body(receive, limit, self.settings.body_timeout_s)
        rows = await self._rows(body, content_type, model)
        try:
            result = await batcher.predict(rows, proba, _sender(scope))
        except Overloaded as exc:
            raise HttpError(
                503,
                "server is overloaded, retry later",
                headers=[(b"retry-after", str(exc.retry_after).encode())],
            ) from None
        except PredictTimeout:
            raise HttpError(504, f"no prediction within {self.settings.timeout_s:g}s") from None
        except ModelError as exc:
            raise _model_error(exc) from None
        payload: dict[str, Any] = {"predictions": result.predictions}
        if result.probabilities is not None and proba:
            payload["probabilities"] = result.probabilities
            if model.info.classes is not None:
                payload["classes"] = model.info.classes
        await send_bytes(send, 200, dumps(payload))
        return 200

    async def _rows(self, body: bytes, content_type: str, model: Model) -> list[list[Any]]:
        max_rows = self.settings.max_rows
        if len(body) <= _INLINE_PARSE_BYTES:
            return _parse(body, content_type, model, max_rows)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._parser, _parse, body, content_type, model, max_rows
        )

    # -- GET routes --------------------------------------------------------------------

    async def _get(self, route: str, send: Send) -> int:
        if route == "/health":
            await send_json(send, 200, {"status": "alive"})
        elif route == "/ready":
            if self.model is None or not self.metrics.all_ready():
                raise HttpError(503, "the model is still loading", headers=[(b"retry-after", b"1")])
            if self.batcher is not None and self.batcher.busy_for() > self.settings.timeout_s:
                # A predict call stuck past every deadline: let the orchestrator restart us.
                raise HttpError(503, "the model has been predicting for too long")
            await send_json(send, 200, {"status": "ready"})
        elif route == "/metrics":
            await send_bytes(send, 200, self.metrics.render().encode(), _PROMETHEUS)
        elif route == "/info":
            await send_json(send, 200, self.info())
        elif route == "/openapi.json":
            await send_bytes(send, 200, self._openapi)
        else:  # /docs
            await send_bytes(send, 200, DOCS_HTML, b"text/html; charset=utf-8")
        return 200

    def info(self) -> dict[str, Any]:
        """What /info answers: model, library versions, image, server settings."""
        s = self.settings
        model: dict[str, Any] | None = None
        if self.model is not None:
            i = self.model.info
            model = {
                "kind": i.kind,
                "class": i.class_name,
                "task": i.task,
                "classes": i.classes,
                "probabilities": self.model.supports_proba,
                "features": [
                    {"name": f.name, "type": f.type, "nullable": f.nullable, "required": f.required}
                    for f in self.model.schema.features
                ],
                "path": s.model_path,
                "predictor": s.predictor,
            }
        return {
            "model": model,
            "ready": self.model is not None,
            "image_id": s.image_id,
            "versions": {
                "dockyard_serve": __version__,
                "python": platform.python_version(),
                **(self.model.info.libraries if self.model is not None else {}),
            },
            "server": {
                # Which container answered: replicas behind one service name differ here.
                "hostname": platform.node(),
                "workers": s.workers,
                "max_batch": s.max_batch,
                "max_wait_ms": s.max_wait_ms,
                "queue_limit": s.queue_limit,
                "timeout_s": s.timeout_s,
                "max_body_bytes": s.max_body_bytes,
                "max_rows": s.max_rows,
                "header_timeout_s": s.header_timeout_s,
                "body_timeout_s": s.body_timeout_s,
                "auth": self._api_key is not None,
                "uptime_s": round(time.time() - self._started, 3),
                "threads": threading.active_count(),
                "platform": sys.platform,
            },
        }


def _body_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str, int | None]:
    content_type = ""
    length = None
    for name, value in headers:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise HttpError(400, "bad Content-Length header") from None
    return content_type, length


def _sender(scope: Scope) -> tuple[Any, ...] | None:
    """The client's connection (host, port); some ASGI test clients give it as a list."""
    client = scope.get("client")
    return tuple(client) if client else None


def _proba_flag(query: bytes) -> bool:
    if not query:
        return False
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if key == "proba":
            lowered = value.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise HttpError(400, f"proba must be true or false, got {value!r}")
    return False


def _parse(body: bytes, content_type: str, model: Model, max_rows: int) -> list[list[Any]]:
    try:
        return parse_body(body, content_type, model.schema, max_rows)
    except BadRequest as exc:
        raise HttpError(400, str(exc)) from None
    except TooManyRows as exc:
        raise HttpError(413, str(exc)) from None
    except UnsupportedMediaType as exc:
        raise HttpError(415, str(exc)) from None
    except InvalidInput as exc:
        raise HttpError(422, "invalid input", [e.as_dict() for e in exc.errors]) from None


def _model_error(exc: ModelError) -> HttpError:
    if isinstance(exc.cause, INPUT_ERRORS):
        return HttpError(
            422, "the model rejected the input", [{"row": None, "field": None, "message": str(exc)}]
        )
    log.error("predict failed: %s", exc, exc_info=exc.cause)
    return HttpError(500, "prediction failed")
