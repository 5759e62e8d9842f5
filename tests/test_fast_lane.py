"""The fast lane (wire/fast_lane.py) serves ``/v2/rpc/{id}`` and ``GET /v2/account`` without aiohttp's
request machinery. What a
client sees must not change: the same replies as through aiohttp, in order on one connection whatever
mix of routes and reads it sends, the same deadlines, compression and metrics. Driven over raw sockets
so each request's bytes, split and timing are the test's."""

from __future__ import annotations

import asyncio
import gc
import gzip
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.state import ServerState
from nakama_py.wire.fast_lane import FAST_LANE, FastLane, LaneParser
from tests.support.modules import state_with_module
from tests.support.users import create_user
from tests.support.wire_server import WireTestServer

ConfigFactory = Callable[..., Config]
HTTP_KEY = "lane-key"
IDLE_SEC = 1.0
DEADLINE_MS = 400

MODULE = """
    import asyncio

    async def echo(ctx, logger, nk, payload):
        return payload

    async def slow(ctx, logger, nk, payload):
        await asyncio.sleep(float(payload or "0.3"))
        return "slept"

    async def who(ctx, logger, nk, payload):
        return (ctx.user_id or "") + "|" + ",".join(ctx.query_params.get("tag", ())) + "|" \\
            + ",".join(ctx.headers.get("X-Custom", ()))

    def init_module(ctx, logger, nk, initializer):
        initializer.register_rpc("echo", echo)
        initializer.register_rpc("slow", slow)
        initializer.register_rpc("who", who)
"""


@pytest.fixture
async def lane_state(make_config: ConfigFactory, database_url: str, tmp_path: Path) -> AsyncIterator[ServerState]:
    async with state_with_module(make_config, database_url, tmp_path / "modules", "lane.py", MODULE,
                                 "--runtime.http_key", HTTP_KEY, "--socket.idle_timeout_ms", str(int(IDLE_SEC * 1000)),
                                 "--socket.request_timeout_ms", str(DEADLINE_MS),
                                 "--socket.max_request_size_bytes", "4096") as state:
        yield state


@pytest.fixture
async def server(lane_state: ServerState, aiohttp_client: Callable[..., Any]) -> TestClient[Any, Any]:
    return await aiohttp_client(WireTestServer(build_app(lane_state)))  # type: ignore[no-any-return]


def lane_of(server: TestClient[Any, Any]) -> FastLane:
    lane: FastLane = server.app[FAST_LANE]
    return lane


def request(method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None,
            chunked: bool = False) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        payload = (f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    else:
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def comparable(self) -> tuple[int, dict[str, str], bytes]:
        """What must not differ between the two HTTP cores (Date ticks)."""
        return self.status, {k: v for k, v in self.headers.items() if k != "date"}, self.body


async def read_reply(reader: asyncio.StreamReader, head_only: bool = False) -> Reply:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status_line, *header_lines = head.decode().split("\r\n")[:-2]
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b"" if head_only else await reader.readexactly(int(headers.get("content-length", "0")))
    return Reply(int(status_line.split()[1]), headers, body)


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, *parts: bytes, pause: float = 0.0) -> None:
        for part in parts:
            self.writer.write(part)
            await self.writer.drain()
            if pause:
                await asyncio.sleep(pause)

    async def ask(self, data: bytes) -> Reply:
        await self.send(data)
        return await read_reply(self.reader, head_only=data.startswith(b"HEAD "))

    async def closed_by_server(self, within: float) -> bool:
        try:
            return await asyncio.wait_for(self.reader.read(1), within) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.writer.close()


@asynccontextmanager
async def connected(server: TestClient[Any, Any]) -> AsyncIterator[Connection]:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    connection = Connection(reader, writer)
    try:
        yield connection
    finally:
        connection.close()


async def test_replies_are_the_same_through_either_core(server: TestClient[Any, Any], lane_state: ServerState
                                                        ) -> None:
    user = await create_user(lane_state)
    cases: list[tuple[str, str, bytes, dict[str, str]]] = [
        ("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}", b'"{\\"a\\":1}"', {}),
        ("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}&unwrap", b'{"a":1}', {"Content-Type": "text/x-race"}),
        ("POST", "/v2/rpc/echo", b'"hi"', user.auth),
        ("GET", "/v2/rpc/echo?payload=%22q%22&unwrap=1", b"", user.auth),
        ("POST", "/v2/rpc/who?tag=a&tag=b%20c", b'""', {**user.auth, "X-Custom": "v1", "Origin": "http://x.test"}),
        ("POST", "/v2/rpc/echo", b'"x"', {}),  # no credentials: 401
        ("POST", "/v2/rpc/echo", b'"x"', {"Authorization": "Bearer nonsense"}),
        ("POST", "/v2/rpc/missing?http_key=" + HTTP_KEY, b'"x"', {}),  # 404
        ("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}", b"[1]", {}),  # not a JSON string: 400
        ("POST", "/v2/rpc/?http_key=" + HTTP_KEY, b'"x"', {}),  # no id
        ("GET", "/v2/account", b"", user.auth),
        ("GET", "/v2/account", b"", {"Authorization": "Bearer nonsense", "Origin": "http://x.test"}),
        ("GET", "/v2/account?unused=1", b"", {}),  # no credentials: 401
    ]
    lane = lane_of(server)
    async with connected(server) as connection:
        for method, target, body, headers in cases:
            served = lane.served
            fast = await connection.ask(request(method, target, body, headers))
            assert lane.served == served + 1, (method, target)
            # The same request split across two reads goes to aiohttp.
            whole = request(method, target, body, headers)
            await connection.send(whole[:20], whole[20:], pause=0.05)
            slow = await read_reply(connection.reader)
            assert lane.served == served + 1, (method, target)
            assert fast.comparable() == slow.comparable(), (method, target)
            assert fast.headers["cache-control"] == "no-store, no-cache, must-revalidate"
            assert fast.headers["vary"] == "Accept-Encoding"


async def test_who_sees_the_caller_query_and_headers(server: TestClient[Any, Any], lane_state: ServerState) -> None:
    user = await create_user(lane_state)
    async with connected(server) as connection:
        reply = await connection.ask(request("POST", "/v2/rpc/who?tag=a&tag=b%20c&unwrap", b"",
                                             {**user.auth, "X-Custom": "v1"}))
        assert reply.status == 200
        assert reply.body.decode() == f"{user.user_id}|a,b c|v1"


async def test_pipelined_and_mixed_requests_are_answered_in_order(server: TestClient[Any, Any]) -> None:
    slow_lane = request("POST", f"/v2/rpc/slow?http_key={HTTP_KEY}&unwrap", b"0.3")
    slow_aiohttp = request("POST", f"/v2/rpc/slow?http_key={HTTP_KEY}&unwrap", b"0.3", chunked=True)
    echo = request("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}&unwrap", b"second")
    health = request("GET", "/healthcheck")
    lane = lane_of(server)
    async with connected(server) as connection:
        # The lane is busy with a slow call when the next request arrives: it waits its turn.
        await connection.send(slow_lane)
        await asyncio.sleep(0.05)
        await connection.send(echo)
        first, second = await read_reply(connection.reader), await read_reply(connection.reader)
        assert (first.body, second.body) == (b"slept", b"second")
        # aiohttp is busy with a slow call when a request the lane could serve arrives: aiohttp takes it.
        served = lane.served
        await connection.send(slow_aiohttp)
        await asyncio.sleep(0.05)
        await connection.send(echo)
        first, second = await read_reply(connection.reader), await read_reply(connection.reader)
        assert (first.body, second.body) == (b"slept", b"second")
        assert lane.served == served
        # Several requests in one read (pipelining), routes mixed.
        await connection.send(echo + health + echo + slow_lane + echo)
        replies = [await read_reply(connection.reader) for _ in range(5)]
        assert [r.status for r in replies] == [200] * 5
        assert [r.body for r in replies[::2]] == [b"second", b"second", b"second"]
        assert replies[3].body == b"slept"
        # And afterwards the lane serves the connection again.
        served = lane.served
        assert (await connection.ask(echo)).body == b"second"
        assert lane.served == served + 1


async def test_a_keep_alive_connection_moves_between_routes(server: TestClient[Any, Any]) -> None:
    lane = lane_of(server)
    async with connected(server) as connection:
        for _ in range(3):
            assert (await connection.ask(request("GET", "/healthcheck"))).status == 200
            served = lane.served
            reply = await connection.ask(request("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}", b'"x"'))
            assert reply.status == 200 and reply.body == b'{"payload":"x"}'
            assert lane.served == served + 1
            assert (await connection.ask(request("GET", "/v2/account"))).status == 401


async def test_a_closed_connection_leaves_nothing_for_the_collector(server: TestClient[Any, Any]) -> None:
    gc.collect()
    gc.disable()  # what a closed connection leaves must be freed by reference counting alone
    try:
        for path in ("/healthcheck", f"/v2/rpc/echo?http_key={HTTP_KEY}"):
            async with connected(server) as connection:
                assert (await connection.ask(request("POST" if "rpc" in path else "GET", path, b'"x"'))).status == 200
        for _ in range(200):  # the server sees the close on a later pass of its loop
            if not _lane_parsers():
                break
            await asyncio.sleep(0.01)
        assert _lane_parsers() == 0
    finally:
        gc.enable()


def _lane_parsers() -> int:
    return sum(1 for obj in gc.get_objects() if isinstance(obj, LaneParser))


async def test_idle_timeout_counts_the_lane_requests(server: TestClient[Any, Any]) -> None:
    async with connected(server) as connection:
        echo = request("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}", b'"x"')
        started = time.monotonic()
        while time.monotonic() - started < IDLE_SEC * 2.5:  # busy past the idle timeout: stays open
            await asyncio.sleep(IDLE_SEC / 4)
            assert (await connection.ask(echo)).status == 200
        idle_from = time.monotonic()
        assert await connection.closed_by_server(IDLE_SEC * 3)
        assert IDLE_SEC * 0.9 <= time.monotonic() - idle_from <= IDLE_SEC * 2.5


async def test_the_request_deadline_holds_on_the_lane(server: TestClient[Any, Any]) -> None:
    lane = lane_of(server)
    async with connected(server) as connection:
        served = lane.served
        started = time.monotonic()
        reply = await connection.ask(request("POST", f"/v2/rpc/slow?http_key={HTTP_KEY}&unwrap", b"5"))
        elapsed = time.monotonic() - started
        assert lane.served == served + 1
        assert reply.status == 504
        assert reply.body == b'{"code":4,"message":"Request deadline exceeded."}'
        assert DEADLINE_MS / 1000 <= elapsed <= DEADLINE_MS / 1000 + 0.5
        # The connection and the process go on.
        assert (await connection.ask(request("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}", b'"x"'))).status == 200


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_large_replies_are_compressed_as_aiohttp_does(server: TestClient[Any, Any], coding: str) -> None:
    body = b"race " * 700  # 3,500 bytes: past the 1 KiB threshold
    ask = request("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}&unwrap", body, {"Accept-Encoding": coding})
    lane = lane_of(server)
    async with connected(server) as connection:
        served = lane.served
        fast = await connection.ask(ask)
        assert lane.served == served + 1
        await connection.send(ask[:30], ask[30:], pause=0.05)
        slow = await read_reply(connection.reader)
        assert fast.headers["content-encoding"] == slow.headers["content-encoding"] == coding
        decode = gzip.decompress if coding == "gzip" else zlib.decompress
        assert decode(fast.body) == decode(slow.body) == body
        assert fast.headers["content-length"] == str(len(fast.body))


async def test_what_the_lane_leaves_to_aiohttp_is_still_answered(server: TestClient[Any, Any]) -> None:
    lane = lane_of(server)
    async with connected(server) as connection:
        served = lane.served
        too_large = await connection.ask(request("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}", b'"' + b"x" * 5000 + b'"'
                                                 ))
        assert too_large.status == 400 and b"request body too large" in too_large.body
        encoded = await connection.ask(request("POST", f"/v2/rpc/ec%68o?http_key={HTTP_KEY}", b'"x"'))
        assert encoded.status == 200 and encoded.body == b'{"payload":"x"}'
        head = await connection.ask(request("HEAD", f"/v2/rpc/echo?http_key={HTTP_KEY}"))
        assert head.status == 501  # Nakama: GET and POST only
        assert lane.served == served
    # HTTP/1.0 and Connection: close are answered by aiohttp, which closes the connection at once.
    plain = request("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}", b'"x"')
    for close_request in (plain.replace(b"HTTP/1.1", b"HTTP/1.0"),
                          request("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}", b'"x"', {"Connection": "close"})):
        served = lane.served
        async with connected(server) as connection:
            reply = await connection.ask(close_request)
            assert reply.status == 200 and reply.body == b'{"payload":"x"}'
            assert await connection.closed_by_server(IDLE_SEC / 2)  # not the idle timeout
            assert lane.served == served


async def test_lane_requests_are_measured_under_the_route(server: TestClient[Any, Any],
                                                          lane_state: ServerState) -> None:
    async with connected(server) as connection:
        for _ in range(3):
            await connection.ask(request("POST", f"/v2/rpc/echo?http_key={HTTP_KEY}", b'"x"'))
        await connection.ask(request("POST", "/v2/rpc/echo", b'"x"'))
    lane_state.metrics.flush()
    sample = lane_state.metrics.registry.get_sample_value
    labels = {"route": "/v2/rpc/{id}", "method": "POST"}
    assert sample("nakama_api_requests_total", {**labels, "code": "0"}) == 3
    assert sample("nakama_api_requests_total", {**labels, "code": "16"}) == 1
