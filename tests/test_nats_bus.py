"""The NATS cluster bus against real NATS servers: delivery, order, echo, large payloads,
membership, and a NATS restart (a private nats-server this test starts and stops by PID)."""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from nakama_py.cluster.bus import MAX_PAYLOAD_BYTES, BusUnavailable
from nakama_py.cluster.nats_bus import NatsBus
from tests.support.ports import free_port

pytestmark = pytest.mark.slow  # real NATS servers

SHARED_NATS = "nats://127.0.0.1:4222"  # the machine's NATS (shared/services.md)
NATS_SERVER = "/usr/sbin/nats-server"


class Inbox:
    def __init__(self) -> None:
        self.items: list[bytes] = []
        self._changed = asyncio.Event()

    def __call__(self, payload: bytes) -> None:
        self.items.append(payload)
        self._changed.set()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.items) < count:
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), max(deadline - time.monotonic(), 0.01))
        return self.items


async def eventually(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


@asynccontextmanager
async def running(*buses: NatsBus) -> AsyncIterator[None]:
    for bus in buses:
        await bus.start()
    try:
        yield
    finally:
        for bus in buses:
            await bus.stop()


@pytest.fixture
def prefix() -> str:
    return f"t{secrets.token_hex(6)}"  # test runs sharing the NATS server never hear each other


async def test_messages_reach_every_process_in_order_and_echo_is_optional(prefix: str) -> None:
    a, b = NatsBus(SHARED_NATS, "node-a", prefix=prefix), NatsBus(SHARED_NATS, "node-b", prefix=prefix)
    a_all, a_others, b_all = Inbox(), Inbox(), Inbox()
    a.subscribe("chat", a_all)
    a.subscribe("chat", a_others, echo=False)
    b.subscribe("chat", b_all)
    async with running(a, b):
        for i in range(200):
            await (a if i % 2 else b).publish("chat", f"{i}".encode())
        await b_all.wait_for(200)
        await a_all.wait_for(200)
        await a_others.wait_for(100)
        from_a = [int(p) for p in b_all.items if int(p) % 2]
        assert from_a == sorted(from_a) and len(from_a) == 100  # one publisher's order is kept
        assert all(int(p) % 2 == 0 for p in a_others.items)  # echo=False: none of a's own
        assert sorted(int(p) for p in a_all.items) == list(range(200))


async def test_a_process_gets_its_own_publication_once_and_without_a_round_trip(prefix: str) -> None:
    a, b = NatsBus(SHARED_NATS, "node-a", prefix=prefix), NatsBus(SHARED_NATS, "node-b", prefix=prefix)
    mine, b_inbox = Inbox(), Inbox()
    a.subscribe("own", mine)
    b.subscribe("own", b_inbox)
    big = secrets.token_bytes(MAX_PAYLOAD_BYTES)  # travels as chunks, delivered to a whole
    async with running(a, b):
        await a.publish("own", b"first")
        assert mine.items == [b"first"]  # handed over in process by publish itself
        await a.publish("own", big)
        await b_inbox.wait_for(2)
        await asyncio.sleep(0.2)  # time for an echo from the server, which must not come
        assert mine.items == [b"first", big] and b_inbox.items == [b"first", big]


async def test_a_payload_larger_than_nats_max_payload_arrives_whole(prefix: str) -> None:
    a, b = NatsBus(SHARED_NATS, "node-a", prefix=prefix), NatsBus(SHARED_NATS, "node-b", prefix=prefix)
    inbox = Inbox()
    b.subscribe("big", inbox)
    big = secrets.token_bytes(MAX_PAYLOAD_BYTES)  # over the server's 1 MiB max_payload with headers
    async with running(a, b):
        await a.publish("big", big)
        await a.publish("big", b"after")
        items = await inbox.wait_for(2)
        assert items == [big, b"after"]
        with pytest.raises(ValueError, match="over"):
            await a.publish("big", big + b"x")
        with pytest.raises(ValueError, match="invalid bus topic"):
            await a.publish("no spaces", b"")


async def test_membership_sees_joins_at_once_and_drops_the_dead_within_the_bound(prefix: str) -> None:
    a = NatsBus(SHARED_NATS, "node-a", prefix=prefix, heartbeat_sec=0.2, expiry_sec=1.0)
    b = NatsBus(SHARED_NATS, "node-b", prefix=prefix, heartbeat_sec=0.2, expiry_sec=1.0)
    c = NatsBus(SHARED_NATS, "node-c", prefix=prefix, heartbeat_sec=0.2, expiry_sec=1.0)
    async with running(a):
        await b.start()
        await c.start()
        await eventually(lambda: {n.node for n in a.alive()} == {"node-a", "node-b", "node-c"}, 2.0, "a sees b, c")
        assert {n.node for n in c.alive()} == {"node-a", "node-b", "node-c"}  # the newcomer heard the hello answers
        await b.stop()  # a clean stop says goodbye: gone at once
        await eventually(lambda: "node-b" not in {n.node for n in a.alive()}, 0.5, "b's goodbye")
        # c dies without a word: its heartbeats stop and its connection goes.
        assert c._heartbeat is not None and c._nc is not None
        c._heartbeat.cancel()
        await c._nc.close()
        took = await eventually(lambda: "node-c" not in {n.node for n in a.alive()}, 2.0, "c expires")
        assert took <= 1.0 + 0.3


class PrivateNats:
    """A nats-server of this test's own on a free port, started (and restarted) on demand, stopped by PID."""

    def __init__(self, log: Path, *, trace: bool = False) -> None:
        self.port = free_port()
        self.trace = trace  # the server logs every protocol line it gets (-V)
        self.url = f"nats://127.0.0.1:{self.port}"
        self.log = log
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        """Started when its own log says it is ready: a connect to the port alone can succeed before it
        listens (a loopback connect to a free port in the ephemeral range may connect to itself)."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        flags = ["-V"] if self.trace else []
        process = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), *flags],
                                   stdout=subprocess.DEVNULL, stderr=self.log.open("ab"))
        self.processes.append(process)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.poll() is None:
            if b"Server is ready" in self.log.read_bytes()[offset:]:
                return process
            time.sleep(0.05)
        raise AssertionError(f"nats-server did not start (exit {process.poll()}): {self.log.read_text()[-2000:]}")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[PrivateNats]:
    nats_server = PrivateNats(tmp_path / "nats.log")
    yield nats_server
    nats_server.stop_all()


async def test_start_returns_once_the_server_holds_the_subscriptions(tmp_path: Path, prefix: str) -> None:
    """A node resyncs and says hello only once NATS holds its subscriptions, or a change another node
    publishes in between is lost (it happened: the first message after a start never arrived). nats-py's
    ``flush`` writes its PING ahead of the SUBs its flusher task has not written yet, so the protocol lines
    the server got must show a PING after the last SUB and before the hello."""
    server = PrivateNats(tmp_path / "nats.log", trace=True)
    server.start()
    try:
        bus = NatsBus(server.url, "node-b", prefix=prefix)
        bus.subscribe("ranks", Inbox())
        bus.subscribe("revocations", Inbox())
        async with running(bus):
            pass
        received = [match.group(1) for match in re.finditer(r"<<- \[(\w+)", server.log.read_text())]
    finally:
        server.stop_all()
    hello = received.index("PUB")  # the first publication: the hello
    last_sub = max(index for index, verb in enumerate(received[:hello]) if verb == "SUB")
    assert "PING" in received[last_sub:hello], received


async def test_after_a_nats_restart_the_bus_resyncs_and_delivers_again(
        private_nats: PrivateNats, prefix: str) -> None:
    server = private_nats.start()
    a, b = NatsBus(private_nats.url, "node-a", prefix=prefix), NatsBus(private_nats.url, "node-b", prefix=prefix)
    inbox = Inbox()
    resyncs: list[float] = []

    async def resync() -> None:
        resyncs.append(time.monotonic())

    b.subscribe("ranks", inbox, resync)
    async with running(a, b):
        assert len(resyncs) == 1  # once at start
        await a.publish("ranks", b"before")
        await inbox.wait_for(1)
        server.kill()
        server.wait(10)
        await eventually(lambda: a._nc is not None and not a._nc.is_connected, 5.0, "a notices")
        with pytest.raises(BusUnavailable):
            await a.publish("ranks", b"lost")  # refused, never silently queued
        private_nats.start()
        await eventually(lambda: len(resyncs) == 2, 10.0, "b resyncs after the restart")
        await eventually(lambda: a._nc is not None and a._nc.is_connected, 10.0, "a reconnects")
        await a.publish("ranks", b"after")
        assert (await inbox.wait_for(2)) == [b"before", b"after"]
