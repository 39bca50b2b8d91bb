"""uvicorn's httptools protocol with the deadlines and limits a public endpoint needs.

uvicorn times out idle keep-alive connections only: a client that connects and sends
nothing, sends half its headers, or announces a Content-Length and then stalls, holds its
connection (and its request task) for ever, and headers may be of any size. Here, per
connection:

- the request head (request line and headers) must arrive within ``header_timeout`` of the
  connection being made or of the request's first byte, else 408 (or a silent close when
  nothing was sent) — the first request's clock starts at accept, so an idle connection
  cannot wait longer than that;
- the head may not exceed ``max_header_bytes``: 431;
- the body must be complete within ``body_timeout`` of the head: 408. The request's task
  sees a disconnect and stops; it was never queued for a batch (only parsed requests are),
  so nobody else waits for it.

An answer sent before the request was read (these, and the app's 413 for a Content-Length
over the limit) closes the connection *lingering*: the write side is shut after the answer
and whatever the client still sends is read and dropped for up to ``LINGER_S``. Closing at
once with unread bytes makes the kernel send a reset, which often destroys the answer
before the client reads it.

This relies on the protocol class's callbacks (``on_message_begin``, ``on_headers_complete``,
``on_message_complete``, ``data_received``) and its ``cycle``, stable across uvicorn
releases; requirements.txt pins uvicorn below 1.0.
"""

from __future__ import annotations

import asyncio
from asyncio import TimerHandle
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

#: Longest time a refused client may keep sending before the connection is reset anyway.
LINGER_S = 5.0


def protocol_class(
    header_timeout: float, body_timeout: float, max_header_bytes: int
) -> type[HttpToolsProtocol]:
    """The protocol class to hand uvicorn (``Config(http=...)``), with these limits."""
    return type(
        "GuardedHttpToolsProtocol",
        (GuardedProtocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "max_header_bytes": max_header_bytes,
        },
    )


class GuardedProtocol(HttpToolsProtocol):
    header_timeout = 5.0
    body_timeout = 10.0
    max_header_bytes = 32 * 1024

    def connection_made(self, transport: asyncio.Transport) -> None:
        self._in_head = True  # reading a request line and headers
        self._head_bytes = 0
        self._lingering = False
        self._timer: TimerHandle | None = None
        self._real_transport = transport
        super().connection_made(_LingeringTransport(transport, self))
        self._arm(self.header_timeout, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the rest of a refused request: read to keep the connection clean
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.max_header_bytes:
            self.refuse(431, "request headers are too large")

    # -- parser callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._timer is None:  # the first request's clock started at accept
            self._arm(self.header_timeout, self._head_too_slow)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._disarm()
        super().on_headers_complete()
        self._arm(self.body_timeout, self._body_too_slow)

    def on_message_complete(self) -> None:
        self._in_head = True
        self._disarm()
        super().on_message_complete()

    # -- deadlines -------------------------------------------------------------------

    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_too_slow(self) -> None:
        self._timer = None
        if self._head_bytes == 0 and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()  # idle: nothing to answer
        else:
            self.refuse(408, "request headers took too long to arrive")

    def _body_too_slow(self) -> None:
        self._timer = None
        cycle = self.cycle
        if cycle is None or not cycle.more_body or cycle.disconnected:
            return
        if cycle.response_started:  # answered without reading the body (404, 413...)
            self.transport.close()
            return
        # The request's task sees a disconnect and ends; the answer is written here.
        cycle.disconnected = True
        cycle.scope.setdefault("extensions", {})["dockyard.timed_out"] = True
        cycle.message_event.set()
        self.refuse(408, "request body took too long to arrive")

    def refuse(self, status: int, message: str) -> None:
        """Answer ``status`` outside any request cycle and close the connection."""
        if self._real_transport.is_closing() or self._lingering:
            return
        body = ('{"error":"' + message + '"}').encode()
        self._real_transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.linger()

    def linger(self) -> None:
        """Shut the write side (the client reads the answer, then EOF), drop what it still
        sends, and close when it closes or after ``LINGER_S``."""
        transport = self._real_transport
        if self._lingering or transport.is_closing():
            return
        self._disarm()
        if not transport.can_write_eof():
            transport.close()
            return
        self._lingering = True
        transport.write_eof()
        transport.resume_reading()
        self.loop.call_later(LINGER_S, transport.close)

    def request_unread(self) -> bool:
        """Whether bytes of the current request may still come (its body or its head)."""
        cycle = self.cycle
        if self._in_head:
            return self._head_bytes > 0
        return cycle is not None and cycle.more_body and not cycle.disconnected


class _LingeringTransport:
    """The connection's transport as uvicorn sees it: ``close()`` lingers when the request
    was answered before it was read, everything else is the real transport."""

    def __init__(self, transport: asyncio.Transport, protocol: GuardedProtocol) -> None:
        self._transport = transport
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        if self._protocol.request_unread() and not self._transport.is_closing():
            self._protocol.linger()
        else:
            self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing() or self._protocol._lingering
