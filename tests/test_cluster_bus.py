"""The PostgreSQL cluster bus between two bus instances on one real database: delivery, payloads
past NOTIFY's limit, order, echo, reconnect with resync, and membership."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from nakama_py.cluster.bus import BusUnavailable, NodeInfo, check_topic
from nakama_py.cluster.membership import Membership
from nakama_py.cluster.pg_bus import LISTEN_APPLICATION_NAME, PUBLISH_APPLICATION_NAME, PgBus
from nakama_py.db.pool import Database

TOPIC = "test.bus"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, min_size=1, max_size=4, name="test-cluster-bus")
    await database.connect()
    try:
        yield database
    finally:
        await database.close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.resyncs = 0
        self._changed = asyncio.Event()

    def __call__(self, payload: bytes) -> None:
        self.messages.append(payload)
        self._changed.set()

    async def resync(self) -> None:
        self.resyncs += 1
        self._changed.set()

    async def until(self, check: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                self._changed.clear()
                await self._changed.wait()


async def started(bus: PgBus) -> PgBus:
    await bus.start()
    return bus


async def test_messages_of_every_size_and_kind_arrive_in_order_with_their_echo(db: Database) -> None:
    a_inbox, b_inbox = Inbox(), Inbox()
    a, b = PgBus(db, "node-a"), PgBus(db, "node-b")
    a.subscribe(TOPIC, a_inbox)
    b.subscribe(TOPIC, b_inbox)
    await a.start()
    await b.start()
    try:
        payloads = [b'{"small": 1}',
                    b"x" * 20_000,  # past NOTIFY's 8000 bytes: spilled to the table
                    bytes(range(256)) * 4,  # not text: base64
                    "é".encode() * 3990,  # 7980 bytes of text: inline, just
                    bytes(range(256)) * 3000,  # 768 KB of binary: spilled
                    b"last"]
        # Sent at once, so they share transactions; identical payloads stay distinct too.
        await asyncio.gather(*(a.publish(TOPIC, p) for p in [*payloads, b"last"]))
        expected = [*payloads, b"last"]
        await b_inbox.until(lambda: len(b_inbox.messages) >= len(expected))
        await a_inbox.until(lambda: len(a_inbox.messages) >= len(expected))
        assert b_inbox.messages == expected
        assert a_inbox.messages == expected  # echo: the publisher hears its own messages
        spilled = await db.fetchval("SELECT count(*) FROM nakama_py_cluster_message WHERE topic = %s", (TOPIC,))
        assert spilled == 2
    finally:
        await a.stop()
        await b.stop()


async def test_without_echo_a_process_skips_its_own_messages(db: Database) -> None:
    own, other = Inbox(), Inbox()
    a, b = PgBus(db, "node-a"), PgBus(db, "node-b")
    a.subscribe(TOPIC, own, echo=False)
    b.subscribe(TOPIC, other, echo=False)
    await a.start()
    await b.start()
    try:
        await a.publish(TOPIC, b"from a")
        await b.publish(TOPIC, b"y" * 9000)
        await other.until(lambda: other.messages == [b"from a"])
        await own.until(lambda: own.messages == [b"y" * 9000])
        await asyncio.sleep(0.2)
        assert own.messages == [b"y" * 9000] and other.messages == [b"from a"]
    finally:
        await a.stop()
        await b.stop()


async def test_a_lost_listen_connection_is_reopened_and_resynced(db: Database) -> None:
    inbox = Inbox()
    a, b = PgBus(db, "node-a"), PgBus(db, "node-b")
    b.subscribe(TOPIC, inbox, resync=inbox.resync)
    await a.start()
    await b.start()
    try:
        assert inbox.resyncs == 1
        await db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE application_name = %s AND datname = current_database()", (LISTEN_APPLICATION_NAME,))
        await inbox.until(lambda: inbox.resyncs == 2)
        # Published until the new connection listens: at-most-once, so some may be lost, not all.
        deadline = time.monotonic() + 5
        while not inbox.messages and time.monotonic() < deadline:
            await a.publish(TOPIC, b"after")
            await asyncio.sleep(0.05)
        assert inbox.messages and set(inbox.messages) == {b"after"}
    finally:
        await a.stop()
        await b.stop()


async def test_publishing_refuses_bad_topics_and_payloads_and_a_stopped_bus(db: Database) -> None:
    a = await started(PgBus(db, "node-a"))
    with pytest.raises(ValueError):
        await a.publish("spaces are not allowed", b"")
    with pytest.raises(ValueError):
        await a.publish("t" * 64, b"")
    with pytest.raises(ValueError):
        await a.publish(TOPIC, b"x" * ((1 << 20) + 1))
    with pytest.raises(RuntimeError):
        a.subscribe(TOPIC, Inbox())  # too late: subscriptions are made before start
    await a.stop()
    with pytest.raises(BusUnavailable):
        await a.publish(TOPIC, b"after stop")


async def test_membership_lists_live_processes_and_drops_the_silent_and_the_departed(db: Database) -> None:
    def fast(node: str) -> Membership:
        return Membership(db, NodeInfo(node, f"{node}-p", time.time()), heartbeat_sec=0.2, expiry_sec=1.0)

    a, b, c = fast("m-a"), fast("m-b"), fast("m-c")
    for member in (a, b, c):
        await member.start()
    try:
        await a.beat()
        assert {n.process for n in a.alive()} >= {"m-a-p", "m-b-p", "m-c-p"}
        await c.stop()  # a clean exit deletes its row: gone at the next heartbeat
        await a.beat()
        assert "m-c-p" not in {n.process for n in a.alive()}
        assert b._task is not None
        b._task.cancel()  # b goes silent, as a killed process would, right after one last heartbeat
        await b.beat()
        silent_at = time.monotonic()
        await a.beat()
        await asyncio.sleep(0.6)
        assert "m-b-p" in {n.process for n in a.alive()}  # not expired yet
        await asyncio.sleep(silent_at + 1.1 - time.monotonic())
        assert "m-b-p" not in {n.process for n in a.alive()}  # expired, one second after its last heartbeat
    finally:
        await a.stop()
        await b.stop()


async def test_a_bus_lists_itself_and_its_peers_as_alive(db: Database) -> None:
    a, b = await started(PgBus(db, "node-a")), await started(PgBus(db, "node-b"))
    try:
        await a.membership.beat()
        processes = {n.process for n in a.alive()}
        assert {a.process, b.process} <= processes
        assert a.process.startswith("node-a-") and a.node == "node-a"
        odd = PgBus(db, "node with spaces/" + "x" * 80)  # a process id is usable as a topic whatever the name
        assert check_topic(odd.process) and odd.node.startswith("node with spaces/")
    finally:
        await a.stop()
        await b.stop()


async def test_a_lost_publishing_connection_is_reopened(db: Database) -> None:
    inbox = Inbox()
    a, b = PgBus(db, "node-a"), PgBus(db, "node-b")
    b.subscribe(TOPIC, inbox)
    await a.start()
    await b.start()
    try:
        await db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE application_name = %s AND datname = current_database()", (PUBLISH_APPLICATION_NAME,))
        for _ in range(100):  # refused (nothing sent) while the connection is down, then sent again
            try:
                await a.publish(TOPIC, b"again")
                break
            except BusUnavailable:
                await asyncio.sleep(0.05)
        await inbox.until(lambda: b"again" in inbox.messages)
    finally:
        await a.stop()
        await b.stop()


def test_an_envelope_carries_text_as_is_other_bytes_in_base64_and_spills_past_the_limit() -> None:
    from nakama_py.cluster import pg_envelope as envelope

    text = envelope.inline("abc", 10, b'{"k": "v"}')
    assert text == 'abc a t{"k": "v"}'
    for payload in (b"nul\x00inside", b"\xff\xfe not utf-8", b""):
        sent = envelope.inline("abc", 1, payload)
        assert sent is not None
        parsed = envelope.parse(sent)
        assert parsed is not None and parsed.payload() == payload and parsed.sender == "abc"
    head = len(envelope.head("abc", 1, envelope.TEXT))
    assert envelope.inline("abc", 1, b"x" * (envelope.MAX_NOTIFY_BYTES - head)) is not None
    assert envelope.inline("abc", 1, b"x" * (envelope.MAX_NOTIFY_BYTES - head + 1)) is None
    spilled = envelope.parse(envelope.head("abc", 2, envelope.SPILLED) + "42")
    assert spilled is not None and spilled.spilled_id() == 42
    for garbage in ("", "no-spaces", "abc 1 ", "abc 1 zbody", "abc 1 snot-a-number"):
        assert envelope.parse(garbage) is None
    bad_base64 = envelope.parse("abc 1 b***")
    assert bad_base64 is not None
    with pytest.raises(ValueError):
        bad_base64.payload()
