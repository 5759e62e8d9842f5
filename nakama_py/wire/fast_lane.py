"""The fast lane: the hottest routes (``/v2/rpc/{id}``, every RPC and the racing game's calls, and
``GET /v2/account``) served without aiohttp's request and response machinery, through the same wire and
the same handlers.

Measured on echo, one worker (docs/performance.md, "The fast lane"): aiohttp's own protocol, request and
response objects cost about 40 µs of a request's CPU, where parsing the request with ``httptools`` (the
parser uvicorn uses) and writing the reply's bytes directly cost a few. Everything a rule decides stays
where it was: admission, CORS, common headers, compression, metrics and the access log are the wire's
(wire/middleware.py), auth and the call are the RPC handler's (api/rpc.py); the lane only parses and
writes.

Each connection parses what it receives (``LaneParser``). A read is served here only when it holds
exactly one whole, plain request for a lane route (HTTP/1.1 keep-alive, GET or POST, a simple path, no
transfer or content coding, no ``Expect``, no upgrade, a body within ``client_max_size``, header lines
within aiohttp's bound) and aiohttp is not busy with an earlier request on the connection. Anything
else (another route, a request split over reads, pipelined requests, an upgrade to the realtime
socket, a parse error) goes to aiohttp as bytes, untouched, so aiohttp answers it exactly as before.
Order is kept: while the lane serves a request, later bytes wait; while aiohttp has a request, the
lane takes none until aiohttp's task for it has ended (its reply is written by then, a large reply
compressed in a thread first).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import httptools
from aiohttp import web
from aiohttp.compression_utils import ZLibCompressor
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE
from multidict import CIMultiDict, CIMultiDictProxy

from nakama_py.wire.lane_request import LaneRequest

log = logging.getLogger("nakama_py.http")

FAST_LANE: web.AppKey[FastLane] = web.AppKey("fast_lane")
# Headers that change how the request must be read or answered: aiohttp's parser deals with those.
_DECLINED_HEADERS = frozenset({b"transfer-encoding", b"content-encoding", b"expect", b"upgrade"})
LaneHandler = Callable[[Any], Awaitable[web.StreamResponse]]
# The wire's entry (``Wire.handle`` of wire/middleware.py, which imports this module through the connection).
WireEntry = Callable[[Any, LaneHandler, str], Awaitable[web.StreamResponse]]


class LaneParser:
    """``httptools`` callbacks for one connection: where its messages begin and end, and the one
    message the lane may serve."""

    __slots__ = ("begun", "body", "body_size", "complete", "eligible", "headers", "in_message", "keep_alive",
                 "max_body", "max_field_size", "method", "parser", "url", "version")

    def __init__(self, max_body: int, max_field_size: int) -> None:
        self.max_body = max_body
        self.max_field_size = max_field_size
        self.begun = 0  # messages begun on the connection
        self.in_message = False
        self.complete = False
        self.eligible = False
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.body_size = 0
        self.method = b""
        self.version = ""
        self.keep_alive = False
        self.parser = httptools.HttpRequestParser(self)

    def feed(self, data: bytes) -> None:
        """Raises ``httptools.HttpParserError`` (``HttpParserUpgrade`` on an upgrade)."""
        self.parser.feed_data(data)

    def release(self) -> None:
        """Done with the connection. httptools' parser holds this object's callbacks, so the two form a
        cycle: broken here, they are freed at once rather than at the next full collection, which the
        server runs rarely (server.GC_THRESHOLD): until then each closed connection kept about 1 KB."""
        del self.parser

    def on_message_begin(self) -> None:
        self.begun += 1
        self.in_message = True
        self.complete = False
        self.eligible = True
        self.url = b""
        self.headers = []
        self.body = []
        self.body_size = 0

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) + len(value) > self.max_field_size or name.lower() in _DECLINED_HEADERS:
            self.eligible = False
        elif self.eligible:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        # Read here: once the message is complete the parser is reset for the next one (keep-alive reads True).
        parser = self.parser
        self.method = parser.get_method()
        self.version = parser.get_http_version()
        self.keep_alive = parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size > self.max_body:
            self.eligible = False
        elif self.eligible:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.in_message = False
        self.complete = True


class LaneRoute(NamedTuple):
    handler: LaneHandler
    name: str  # the route's name in metrics and the access log: aiohttp's canonical path


class FastLane:
    """The routes the lane serves on one application: ``exact`` (method and path) and ``prefixed`` (a path
    prefix and an id of ``[A-Za-z0-9_.-]``, matched as ``{id}``, for GET and POST)."""

    def __init__(self, app: web.Application, wire: WireEntry, *, exact: dict[tuple[str, str], LaneRoute],
                 prefixed: tuple[str, LaneRoute], max_body: int, max_field_size: int) -> None:
        self.app = app
        self.wire = wire
        self.exact = {(method.encode(), path.encode()): route for (method, path), route in exact.items()}
        prefix, self.prefixed = prefixed
        self._prefixed_path = re.compile(rb"^" + re.escape(prefix.encode()) + rb"([A-Za-z0-9_.\-]*)(?:\?|$)")
        self.max_body = max_body
        self.max_field_size = max_field_size
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        self.served = 0  # requests the lane took

    def parser(self) -> LaneParser:
        return LaneParser(self.max_body, self.max_field_size)

    def take(self, parser: LaneParser, transport: asyncio.Transport) -> tuple[LaneRequest, LaneRoute] | None:
        """The request the parser just completed and its route, if the lane serves it."""
        if self.closing or not parser.eligible:
            return None
        method = parser.method
        if method not in (b"GET", b"POST") or parser.version != "1.1" or not parser.keep_alive:
            return None
        url = parser.url
        if b"#" in url or b"%" in url.partition(b"?")[0] or b"%00" in url:
            return None
        route = self.exact.get((method, url.partition(b"?")[0]))
        match_info: dict[str, str] = {}
        if route is None:
            matched = self._prefixed_path.match(url)
            if matched is None:
                return None
            route = self.prefixed
            match_info = {"id": matched.group(1).decode()}
        raw_path = url.decode("ascii", "surrogateescape")
        path, _, query_string = raw_path.partition("?")
        headers = CIMultiDict[str]()
        for name, value in parser.headers:
            headers.add(name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
        body = parser.body[0] if len(parser.body) == 1 else b"".join(parser.body)
        request = LaneRequest(self.app, method.decode(), raw_path, path, query_string, CIMultiDictProxy(headers),
                              body, match_info, transport)
        return request, route

    def serve(self, request: LaneRequest, route: LaneRoute, done: Callable[[], None]) -> None:
        self.served += 1
        task = asyncio.get_running_loop().create_task(self._serve(request, route, done))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _serve(self, request: LaneRequest, route: LaneRoute, done: Callable[[], None]) -> None:
        try:
            response = await self.wire(request, route.handler, route.name)
            if not isinstance(response, web.Response) or not isinstance(response.body, bytes | None):
                raise TypeError(f"the fast lane writes whole responses, got {type(response).__name__}")
            reply = await _encode(response, request)
            transport = request.transport
            if transport is not None and not transport.is_closing():
                transport.write(reply)
        except Exception:
            log.exception("fast lane: the reply could not be written", extra={"fields": {"path": request.path}})
            if request.transport is not None:
                request.transport.abort()
        finally:
            done()

    async def drain(self, timeout: float) -> None:
        """Take no more requests, and wait (at most ``timeout``) for those in flight."""
        self.closing = True
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)


async def _encode(response: web.Response, request: LaneRequest) -> bytes:
    """The reply's bytes as aiohttp writes a ``web.Response`` to an HTTP/1.1 keep-alive request."""
    headers = response.headers
    body = response.body if isinstance(response.body, bytes) else b""
    if response.compression:
        accept = request.headers.get("Accept-Encoding", "").lower()
        coding = "deflate" if "deflate" in accept else "gzip" if "gzip" in accept else None  # aiohttp's order
        if coding is not None:
            compressor = ZLibCompressor(encoding=coding)  # a large body is compressed off the event loop
            body = await compressor.compress(body) + compressor.flush()
            headers["Content-Encoding"] = coding
    headers["Content-Length"] = str(len(body))
    if body and "Content-Type" not in headers:
        headers["Content-Type"] = "application/octet-stream"
    if "Date" not in headers:
        headers["Date"] = rfc822_formatted_time()
    if "Server" not in headers:
        headers["Server"] = SERVER_SOFTWARE
    head = [f"HTTP/1.1 {response.status} {response.reason}\r\n"]
    for name, value in headers.items():
        head.append(f"{name}: {value}\r\n")
    head.append("\r\n")
    return "".join(head).encode("utf-8", "surrogateescape") + body
