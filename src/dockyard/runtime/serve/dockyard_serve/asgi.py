"""Bare ASGI plumbing: read a bounded body, send JSON/text answers, raise HTTP errors.

No framework: a request to /predict goes through a dict lookup, a header scan and two
``send`` calls — the per-request overhead a framework's routing, middleware stack and
validation layers would multiply.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON = b"application/json"
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


class HttpError(Exception):
    """An error answer: status, message, optional ``details`` and extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: Iterable[tuple[bytes, bytes]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = list(headers)

    def body(self) -> bytes:
        payload: dict[str, Any] = {"error": self.message}
        if self.details is not None:
            payload["details"] = self.details
        return dumps(payload)


class ClientDisconnected(Exception):
    """The client went away before sending its whole body; nothing to answer."""


def dumps(payload: Any) -> bytes:
    """orjson, with numpy values and odd model outputs (Decimal, custom objects) handled."""
    return orjson.dumps(payload, default=_fallback, option=_JSON_OPTIONS)


def _fallback(value: Any) -> Any:
    for attr in ("tolist", "item"):  # numpy arrays/scalars orjson did not take, torch tensors
        method = getattr(value, attr, None)
        if callable(method):
            return method()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


async def read_body(receive: Receive, limit: int, timeout: float) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes (413) as it streams in.

    Small bodies arrive in one message, and then this never waits; a slow body gets
    ``timeout`` seconds in all (408), so a stalled client cannot hold a task forever.
    """
    message = await receive()
    body = _body_of(message)
    if len(body) > limit:
        raise HttpError(413, f"request body is larger than {limit} bytes", headers=CLOSE)
    if not message.get("more_body", False):
        return body
    chunks = [body]
    size = len(body)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while message.get("more_body", False):
        try:
            message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise HttpError(408, "request body took too long to arrive", headers=CLOSE) from None
        chunk = _body_of(message)
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"request body is larger than {limit} bytes", headers=CLOSE)
        chunks.append(chunk)
    return b"".join(chunks)


def _body_of(message: Message) -> bytes:
    if message["type"] == "http.disconnect":
        raise ClientDisconnected()
    body: bytes = message.get("body", b"")
    return body


# Answering before the body was read: closing the connection keeps the unread rest of the body
# from being parsed as the next request.
CLOSE = ((b"connection", b"close"),)


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send, status: int, payload: Any, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    await send_bytes(send, status, dumps(payload), JSON, headers)


async def send_error(send: Send, error: HttpError) -> None:
    await send_bytes(send, error.status, error.body(), JSON, error.headers)
