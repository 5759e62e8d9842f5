"""Nakama's HTTP server timeouts on aiohttp: ``socket.read_timeout_ms``, ``write_timeout_ms``, ``idle_timeout_ms``.

aiohttp has no deadline for reading a request or writing a reply, so a client trickling its headers
(slowloris), sending a body that never finishes or never reading its reply would hold a connection, a task
and buffers for as long as it likes. As Go's http.Server does for Nakama, each connection here gets:

- **read**: a request (headers and body) must have arrived within the read timeout of its first byte;
- **write**: a reply must have left the server's buffers within the write timeout of the handler returning it;
- **idle**: a connection without a request in progress is closed after the idle timeout. aiohttp's own
  keep-alive timeout is set out of reach (``AIOHTTP_KEEPALIVE_SEC``): it cannot see the requests the fast lane
  serves (wire/fast_lane.py), so it would close a busy connection.

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

import httptools
from aiohttp import StreamReader, web

from nakama_py.wire.fast_lane import FAST_LANE, FastLane, LaneParser

log = logging.getLogger("nakama_py.http")


AIOHTTP_KEEPALIVE_SEC = 10 * 365 * 86400.0  # the runners' keepalive_timeout: idle is enforced here instead
HELD_MAX_BYTES = 256 * 1024  # bytes held while the lane serves a request, past which reading pauses


@dataclass(frozen=True)
class Timeouts:
    read_sec: float
    write_sec: float
    idle_sec: float


class _Connection(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the read, write and idle deadlines it lacks, and the fast
    lane (wire/fast_lane.py) in front of it when the application has one."""

    def __init__(self, inner: asyncio.Protocol, timeouts: Timeouts, lane: FastLane | None = None) -> None:
        self.inner = inner
        self.timeouts = timeouts
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.body: StreamReader | None = None  # the request's payload once its headers have arrived
        self.in_request = False
        self.read_timer: asyncio.TimerHandle | None = None
        self.write_timer: asyncio.TimerHandle | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.last_active = self.loop.time()
        self.lane = lane
        self.parser: LaneParser | None = lane.parser() if lane is not None else None  # None: all to aiohttp
        self.aiohttp_busy = 0  # requests handed to aiohttp whose replies are not written yet
        self.lane_busy = False
        self.held: list[bytes] = []  # what arrived while the lane served a request
        self.held_size = 0

    # -- asyncio.Protocol, passed on to aiohttp's handler --------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        _CONNECTIONS[transport] = self
        self.inner.connection_made(transport)
        if self.timeouts.idle_sec > 0:
            self.idle_timer = self.loop.call_at(self.last_active + self.timeouts.idle_sec, self._idle_check)

    def data_received(self, data: bytes) -> None:
        self.last_active = self.loop.time()
        if self.lane_busy:  # served after the lane's reply is written, in order
            self.held.append(data)
            self.held_size += len(data)
            if self.held_size > HELD_MAX_BYTES and self.transport is not None:
                self.transport.pause_reading()
            return
        parser = self.parser
        if parser is not None:
            assert self.lane is not None
            begun, at_boundary = parser.begun, not parser.in_message
            try:
                parser.feed(data)
            except (httptools.HttpParserError, httptools.HttpParserUpgrade):
                parser.release()
                self.parser = None  # an upgrade to the realtime socket, or bytes aiohttp will refuse: all to it
            else:
                if at_boundary and parser.begun == begun + 1 and parser.complete and self.aiohttp_busy == 0:
                    assert self.transport is not None
                    taken = self.lane.take(parser, self.transport)
                    if taken is not None:
                        self.lane_busy = True
                        self.lane.serve(*taken, self._lane_done)
                        return
            self.aiohttp_busy += parser.begun - begun
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
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        self.held.clear()
        if self.parser is not None:
            self.parser.release()
            self.parser = None
        if self.transport is not None:
            _CONNECTIONS.pop(self.transport, None)
        self.inner.connection_lost(exc)

    # -- the lane -------------------------------------------------------------------------------------

    def _lane_done(self) -> None:
        """The lane's reply is written: the write deadline starts, and what arrived meanwhile is read."""
        self.lane_busy = False
        self.last_active = self.loop.time()
        if self.write_timer is None and self.transport is not None:
            self.write_timer = self.loop.call_later(self.timeouts.write_sec, self._write_expired)
        if self.held:
            data = b"".join(self.held)
            self.held.clear()
            if self.held_size > HELD_MAX_BYTES and self.transport is not None:
                self.transport.resume_reading()
            self.held_size = 0
            self.data_received(data)

    def _aiohttp_done(self, _: object) -> None:
        """aiohttp's task for a request ended: its reply is written (or the connection is gone)."""
        if self.aiohttp_busy > 0:
            self.aiohttp_busy -= 1
        self.last_active = self.loop.time()

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
        self.last_active = self.loop.time()
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None
        if self.write_timer is None:
            self.write_timer = self.loop.call_later(self.timeouts.write_sec, self._write_expired)
        if self.parser is not None:
            # The middleware runs in aiohttp's task for this request, which writes the reply after it
            # returns (a compressed body may be compressed in a thread first): the lane waits for the task.
            task = asyncio.current_task()
            if task is not None:
                task.add_done_callback(self._aiohttp_done)
            else:
                self._aiohttp_done(None)

    def _idle_check(self) -> None:
        """Nakama's idle timeout: a connection without a request in progress for ``idle_sec`` is closed."""
        idle = self.timeouts.idle_sec
        now = self.loop.time()
        due = self.last_active + idle
        if self.lane_busy or self.in_request or self.aiohttp_busy:
            due = now + idle
        if now < due:
            self.idle_timer = self.loop.call_at(due, self._idle_check)
            return
        self.idle_timer = None
        log.debug("connection closed: socket.idle_timeout_ms passed without a request")
        if self.transport is not None:
            self.transport.close()

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


def _lane_of(runner: web.BaseRunner) -> FastLane | None:
    return runner.app.get(FAST_LANE) if isinstance(runner, web.AppRunner) else None


class TimedSockSite(web.SockSite):
    """``web.SockSite`` whose connections carry the read and write deadlines."""

    def __init__(self, runner: web.BaseRunner, sock: Any, timeouts: Timeouts, **kwargs: Any) -> None:
        super().__init__(runner, sock, **kwargs)
        self.timeouts = timeouts

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        timeouts, lane = self.timeouts, _lane_of(self._runner)
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(server(), timeouts, lane), sock=self._sock, ssl=self._ssl_context,
            backlog=self._backlog)


class TimedTCPSite(web.TCPSite):
    """``web.TCPSite`` whose connections carry the read and write deadlines."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, timeouts: Timeouts) -> None:
        super().__init__(runner, host, port)
        self.timeouts = timeouts

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        timeouts, lane = self.timeouts, _lane_of(self._runner)
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(server(), timeouts, lane), self._host, self._port, ssl=self._ssl_context,
            backlog=self._backlog, reuse_address=self._reuse_address, reuse_port=self._reuse_port)
