"""Slow clients are cut off by Nakama's HTTP timeouts (socket.read_timeout_ms, write_timeout_ms,
idle_timeout_ms) without starving anyone else: while a flood of them runs, a normal client keeps getting
answers within ``NORMAL_BOUND_SEC``.

The server runs with read 1.5 s, write 1.5 s and idle 4 s, so a cut near 1.5 s can only be the read or
write deadline (aiohttp alone would wait for the idle timeout, or forever)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import Awaitable, Callable, Iterator

import aiohttp
import pytest

from tests.support.ports import free_port
from tests.support.server import REPO, ServerProcess, start_server

READ_SEC, WRITE_SEC, IDLE_SEC = 1.5, 1.5, 4.0
SLACK_SEC = 1.0  # timers, a loaded machine
NORMAL_BOUND_SEC = 1.0
FLOOD = 150


@pytest.fixture(scope="module", params=[1, 2], ids=["one process", "two worker processes"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           database_url: str) -> Iterator[ServerProcess]:
    """Each worker process applies the deadlines to its own connections (the kernel spreads them)."""
    tmp = tmp_path_factory.mktemp("slow")
    modules = tmp / "modules"
    modules.mkdir()
    shutil.copy(REPO / "runtime_modules" / "example.py", modules / "example.py")
    process = start_server(tmp, database_url, "--runtime.path", str(modules),
                           "--socket.read_timeout_ms", str(int(READ_SEC * 1000)),
                           "--socket.write_timeout_ms", str(int(WRITE_SEC * 1000)),
                           "--socket.idle_timeout_ms", str(int(IDLE_SEC * 1000)),
                           "--socket.workers", str(request.param), "--console.port", str(free_port()),
                           "--console.read_timeout_ms", str(int(READ_SEC * 1000)),
                           "--console.idle_timeout_ms", str(int(IDLE_SEC * 1000)))
    try:
        yield process
    finally:
        process.stop()


# A cut as (seconds since just before the connect, seconds since just after it): the server's deadline
# starts at its accept, which falls in between (or later, on a loaded machine: the slack).
Cut = tuple[float, float]


async def closed_after(reader: asyncio.StreamReader, limit: float) -> float:
    """The moment the server closed the connection (reading whatever it sends)."""
    try:
        while await asyncio.wait_for(reader.read(65536), limit):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic()


async def while_normal_client_runs(server: ServerProcess, attack: Awaitable[list[Cut]]) -> tuple[list[Cut],
                                                                                                 list[float]]:
    """Run the attack while a normal client calls /healthcheck every 100 ms; (cut times, its latencies)."""
    latencies: list[float] = []
    done = asyncio.Event()

    async def normal() -> None:
        async with aiohttp.ClientSession() as session:
            while not done.is_set():
                started = time.monotonic()
                async with session.get(f"{server.url}/healthcheck") as reply:
                    assert reply.status == 200
                latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.1)

    task = asyncio.create_task(normal())
    try:
        cuts = await attack
    finally:
        done.set()
        await task
    return cuts, latencies


async def flood(count: int, one: Callable[[], Awaitable[Cut]]) -> list[Cut]:
    return list(await asyncio.gather(*(one() for _ in range(count))))


def check(cuts: list[Cut], latencies: list[float], low: float, high: float) -> None:
    earliest, latest = min(cut[0] for cut in cuts), max(cut[1] for cut in cuts)
    assert low <= earliest and latest <= high, (earliest, latest, low, high)
    assert len(latencies) >= 10 and max(latencies) < NORMAL_BOUND_SEC, (len(latencies), max(latencies))


def console_port(server: ServerProcess) -> int:
    return int(server.args[server.args.index("--console.port") + 1])


@pytest.mark.parametrize("port_of", [lambda s: s.port, console_port], ids=["socket.port", "console.port"])
async def test_a_slowloris_trickling_headers_is_cut_at_the_read_timeout(
        server: ServerProcess, port_of: Callable[[ServerProcess], int]) -> None:
    port = port_of(server)

    async def slowloris() -> Cut:
        before = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        after = time.monotonic()
        head = b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200

        async def trickle() -> None:
            for byte in head:
                writer.write(bytes([byte]))
                await asyncio.sleep(0.1)

        trickling = asyncio.create_task(trickle())
        try:
            closed = await closed_after(reader, READ_SEC + IDLE_SEC + 5)
            return closed - before, closed - after
        finally:
            trickling.cancel()
            writer.close()

    cuts, latencies = await while_normal_client_runs(server, flood(FLOOD, slowloris))
    check(cuts, latencies, READ_SEC, READ_SEC + SLACK_SEC)


async def test_a_body_that_never_finishes_is_cut_at_the_read_timeout(server: ServerProcess) -> None:
    async def endless_body() -> Cut:
        before = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        after = time.monotonic()
        writer.write(b"POST /v2/rpc/echo?http_key=defaulthttpkey&unwrap HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 100000\r\n\r\n" + b"x" * 100)

        async def trickle() -> None:
            while True:
                await asyncio.sleep(0.2)
                writer.write(b"x")

        trickling = asyncio.create_task(trickle())
        try:
            closed = await closed_after(reader, READ_SEC + IDLE_SEC + 5)
            return closed - before, closed - after
        finally:
            trickling.cancel()
            writer.close()

    cuts, latencies = await while_normal_client_runs(server, flood(FLOOD, endless_body))
    check(cuts, latencies, READ_SEC, READ_SEC + SLACK_SEC)


async def test_an_idle_keep_alive_flood_is_cut_at_the_idle_timeout(server: ServerProcess) -> None:
    async def idle() -> Cut:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        await reader.readexactly(int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0]))
        started = time.monotonic()  # the reply is in: the connection is idle from here
        try:
            idled = await closed_after(reader, IDLE_SEC + 10) - started
            return idled, idled
        finally:
            writer.close()

    cuts, latencies = await while_normal_client_runs(server, flood(FLOOD, idle))
    check(cuts, latencies, IDLE_SEC - 0.2, IDLE_SEC + SLACK_SEC)


async def test_a_client_that_never_reads_its_replies_is_cut_at_the_write_timeout(server: ServerProcess) -> None:
    body = b"y" * 200_000
    request = (b"POST /v2/rpc/echo?http_key=defaulthttpkey&unwrap HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    pipelined = 40

    async def never_reads() -> Cut:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.transport.set_write_buffer_limits(high=64 * 1024 * 1024)
        started = time.monotonic()
        writer.write(request * pipelined)
        try:
            await asyncio.sleep(WRITE_SEC + SLACK_SEC + 1)  # not reading: the server's buffers fill
            received = 0
            try:
                while chunk := await asyncio.wait_for(reader.read(1 << 20), 5):
                    received += len(chunk)
            except ConnectionResetError:
                pass
            assert received < pipelined * len(body), "the server kept the connection and sent every reply"
            cut = time.monotonic() - started
            return cut, cut
        finally:
            writer.close()

    cuts, latencies = await while_normal_client_runs(server, flood(5, never_reads))
    check(cuts, latencies, WRITE_SEC, WRITE_SEC + SLACK_SEC + 1 + 5)
