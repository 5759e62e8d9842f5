"""A small keep-alive connection pool for the untimed calls: signing users in, refreshing
tokens, pre-filling a leaderboard. It keeps response bodies; the timed engine does not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import orjson

from nakama_py.bench.http1 import ProtocolError, ResponseParser
from nakama_py.bench.target import Target

# Setup requests a server refused with 503 (overloaded) are sent again after its Retry-After.
SHED_RETRIES = 30
SHED_RETRY_S = 1.0


class RequestFailed(Exception):
    """A request got no HTTP response (connection refused or lost, timeout) after its retries."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    def rpc_payload(self) -> Any:
        """The decoded payload of an RPC reply ``{"payload": "<json>"}``."""
        data = self.json()
        payload = data.get("payload") if isinstance(data, dict) else None
        return orjson.loads(payload) if payload else {}

    def describe(self) -> str:
        return f"HTTP {self.status} {self.body[:300].decode('utf-8', 'replace')}"


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser(self._on_response, keep_body=True)
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are duck-typed

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed(data)
        except ProtocolError as exc:
            self._fail(exc)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.parser.connection_closed():
            self._fail(ConnectionError("connection closed by the server"))

    def send(self, data: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _on_response(self, status: int, body: bytes, close: bool) -> None:
        waiter, self.waiter = self.waiter, None
        if close:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(status, body))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


class HttpPool:
    """Up to ``size`` concurrent requests over reused connections; failed sends are retried."""

    def __init__(self, target: Target, size: int = 32, timeout: float = 30.0) -> None:
        self.target = target
        self.timeout = timeout
        self._slots: asyncio.LifoQueue[_Connection | None] = asyncio.LifoQueue()
        for _ in range(size):
            self._slots.put_nowait(None)

    async def __aenter__(self) -> HttpPool:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def request(self, data: bytes, retries: int = 2) -> Response:
        conn = await self._slots.get()
        attempt = shed = 0
        try:
            while True:
                try:
                    if conn is None or conn.closed:
                        conn = await self._connect()
                    response = await asyncio.wait_for(conn.send(data), self.timeout)
                except (OSError, ConnectionError, ProtocolError, TimeoutError) as exc:
                    if conn is not None:
                        conn.close()
                    conn = None
                    if attempt == retries:
                        raise RequestFailed(f"{self.target.url}: {type(exc).__name__}: {exc}") from exc
                    attempt += 1
                    await asyncio.sleep(0.05 * attempt)
                    continue
                if response.status != 503 or shed == SHED_RETRIES:
                    return response
                # A server shedding load (socket.max_inflight_requests) says Retry-After: 1.
                shed += 1
                await asyncio.sleep(SHED_RETRY_S)
        finally:
            self._slots.put_nowait(conn)

    async def close(self) -> None:
        while not self._slots.empty():
            conn = self._slots.get_nowait()
            if conn is not None:
                conn.close()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(_Connection, self.target.host, self.target.port), self.timeout)
        return protocol
