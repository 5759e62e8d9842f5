"""Nakama's HTTP server timeouts on aiohttp: ``socket.read_timeout_ms``, ``write_timeout_ms``, ``idle_timeout_ms``.

aiohttp closes a connection that sits idle between requests (its keep-alive timeout, set to the idle timeout)
but has no deadline for reading a request or writing a reply, so a client trickling its headers
(slowloris), sending a body that never finishes or never reading its reply would hold a connection, a task
and buffers for as long as it likes. As Go's http.Server does for Nakama, each connection here gets:

- **read**: a request (headers and body) must have arrived within the read timeout of its first byte;
- **write**: a reply must have left the server's buffers within the write timeout of the handler returning it;
- **idle**: a connection without a request in progress is closed after the idle timeout (aiohttp's keep-alive).

A connection past a deadline is closed without a reply. The handler's own time (a slow RPC) is not limited
here, nor is a WebSocket once upgraded (its reads and writes have the socket's ping/pong and write_wait_ms).
``TimedSockSite``/``TimedTCPSite`` wrap aiohttp's protocol per connection; the wire middleware (or
``deadlines`` for the console) tells it when a request's headers have arrived (``request_started``) and when
its reply is handed over (``request_finished``). The console applies its own console.*_timeout_ms keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import StreamReader, web

log = logging.getLogger("nakama_py.http")


@dataclass(frozen=True)
class Timeouts:
    read_sec: float
    write_sec: float
    idle_sec: float


class _Connection(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the read and write deadlines it lacks."""

    def __init__(self, inner: asyncio.Protocol, timeouts: Timeouts) -> None:
        self.inner = inner
        self.timeouts = timeouts
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.body: StreamReader | None = None  # the request's payload once its headers have arrived
        self.in_request = False
        self.read_timer: asyncio.TimerHandle | None = None
        self.write_timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol, passed on to aiohttp's handler --------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        _CONNECTIONS[transport] = self
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.in_request and self.read_timer is None:
            self.read_timer = self.loop.call_later(self.timeouts.read_sec, self._read_expired)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        if self.transport is not None:
            _CONNECTIONS.pop(self.transport, None)
        self.inner.connection_lost(exc)

    # -- the deadlines --------------------------------------------------------------------------------

    def started(self, body: StreamReader) -> None:
        self.in_request = True
        self.body = body
        if self.write_timer is not None:  # the previous reply was written: aiohttp handles requests in turn
            self.write_timer.cancel()
            self.write_timer = None

    def finished(self) -> None:
        self.in_request = False
        self.body = None
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None
        if self.write_timer is None:
            self.write_timer = self.loop.call_later(self.timeouts.write_sec, self._write_expired)

    def _read_expired(self) -> None:
        self.read_timer = None
        if self.in_request and (self.body is None or self.body.is_eof()):
            return  # the whole request arrived; the handler may take its time
        self._cut("read_timeout_ms", "headers" if not self.in_request else "body")

    def _write_expired(self) -> None:
        self.write_timer = None
        if self.transport is not None and self.transport.get_write_buffer_size() > 0:
            self._cut("write_timeout_ms", "reply")

    def _cut(self, key: str, part: str) -> None:
        log.debug("connection closed: socket.%s passed while %s", key,
                  "reading the request's " + part if part != "reply" else "writing the reply")
        self._cancel_timers()
        if self.transport is not None:
            self.transport.abort()

    def _cancel_timers(self) -> None:
        for timer in (self.read_timer, self.write_timer):
            if timer is not None:
                timer.cancel()
        self.read_timer = self.write_timer = None


_CONNECTIONS: dict[asyncio.BaseTransport, _Connection] = {}


def request_started(request: web.Request) -> None:
    """The request's headers have arrived: from now on its read deadline waits only for the body."""
    transport = request.transport
    connection = _CONNECTIONS.get(transport) if transport is not None else None
    if connection is not None:
        connection.started(request.content)


def request_finished(request: web.Request) -> None:
    """The handler returned its reply: the write deadline starts."""
    transport = request.transport
    connection = _CONNECTIONS.get(transport) if transport is not None else None
    if connection is not None:
        connection.finished()


@web.middleware
async def deadlines(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
    """``request_started``/``request_finished`` as a middleware, for apps without the wire middleware
    (the console); the API's middleware calls them itself to spare a layer on the hot path."""
    request_started(request)
    try:
        return await handler(request)
    finally:
        request_finished(request)


class TimedSockSite(web.SockSite):
    """``web.SockSite`` whose connections carry the read and write deadlines."""

    def __init__(self, runner: web.BaseRunner, sock: Any, timeouts: Timeouts, **kwargs: Any) -> None:
        super().__init__(runner, sock, **kwargs)
        self.timeouts = timeouts

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        timeouts = self.timeouts
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(server(), timeouts), sock=self._sock, ssl=self._ssl_context, backlog=self._backlog)


class TimedTCPSite(web.TCPSite):
    """``web.TCPSite`` whose connections carry the read and write deadlines."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, timeouts: Timeouts) -> None:
        super().__init__(runner, host, port)
        self.timeouts = timeouts

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        timeouts = self.timeouts
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(server(), timeouts), self._host, self._port, ssl=self._ssl_context,
            backlog=self._backlog, reuse_address=self._reuse_address, reuse_port=self._reuse_port)
