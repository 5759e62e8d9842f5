"""The cluster bus over PostgreSQL alone: LISTEN/NOTIFY, one channel per topic.

Each process keeps two dedicated connections (cluster/connection.py): one LISTENs on every
subscribed topic (PostgreSQL delivers notifications to the session that listens), the other
sends. Publications waiting to be sent go out together, in order, in one transaction: a burst
costs one round trip. A payload too large for a notification (cluster/pg_envelope.py) is stored
in ``nakama_py_cluster_message`` and the notification carries its row id; a receiver fetches it
through the pool, and holds back the topic's later messages meanwhile so that order is kept.
Membership: cluster/membership.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, Notify

from nakama_py.cluster import pg_envelope as envelope
from nakama_py.cluster.bus import MAX_PAYLOAD_BYTES, BusUnavailable, Handler, NodeInfo, Resync, check_topic
from nakama_py.cluster.connection import DedicatedConnection
from nakama_py.cluster.membership import Membership
from nakama_py.cluster.tasks import cancel_and_wait
from nakama_py.db import cluster_bus as sql
from nakama_py.db.pool import Database

log = logging.getLogger("nakama_py.cluster")

LISTEN_APPLICATION_NAME = "nakama-py-listener"
PUBLISH_APPLICATION_NAME = "nakama-py-publisher"
MAX_OUTBOX = 10_000  # publications waiting to be sent; past it publish() refuses rather than grow
MAX_HELD_BACK = 10_000  # per topic, messages waiting behind a spilled one being fetched
FETCH_ATTEMPTS = 3
START_TIMEOUT_SEC = 30.0


@dataclass(frozen=True, slots=True)
class _Subscription:
    handler: Handler
    echo: bool


@dataclass(slots=True)
class _Outgoing:
    topic: str
    payload: bytes
    sent: asyncio.Future[None]


class PgBus:
    def __init__(self, db: Database, node: str, *, membership: Membership | None = None) -> None:
        self.db = db
        self._token = secrets.token_hex(6)  # names this process in its notifications
        # Usable as a topic of its own (for messages meant for this process alone).
        process = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', node)[:50]}-{self._token}"
        self._info = NodeInfo(node, check_topic(process), time.time())
        self.membership = membership or Membership(db, self._info)
        self._subscriptions: dict[str, list[_Subscription]] = {}
        self._resyncs: dict[str, list[Resync]] = {}
        self._held_back: dict[str, deque[envelope.Envelope]] = {}
        self._fetches: set[asyncio.Task[None]] = set()
        self._outbox: list[_Outgoing] = []
        self._outbox_ready = asyncio.Event()
        self._sequence = 0
        self._listening = asyncio.Event()
        self._sending = asyncio.Event()
        self._started = False
        self._listener = DedicatedConnection(db.session_conninfo, LISTEN_APPLICATION_NAME, self._listen)
        self._sender = DedicatedConnection(db.session_conninfo, PUBLISH_APPLICATION_NAME, self._send)

    @property
    def node(self) -> str:
        return self._info.node

    @property
    def process(self) -> str:
        return self._info.process

    def alive(self) -> list[NodeInfo]:
        return self.membership.alive()

    def subscribe(self, topic: str, handler: Handler, resync: Resync | None = None, *, echo: bool = True) -> None:
        if self._started:
            raise RuntimeError("subscribe to the bus before it starts")
        self._subscriptions.setdefault(check_topic(topic), []).append(_Subscription(handler, echo))
        resyncs = self._resyncs.setdefault(topic, [])
        if resync is not None:
            resyncs.append(resync)

    async def start(self, timeout: float = START_TIMEOUT_SEC) -> None:
        self._started = True
        self._listener.start()
        self._sender.start()
        await asyncio.wait_for(asyncio.gather(self._listening.wait(), self._sending.wait()), timeout)
        await self.membership.start()

    async def stop(self) -> None:
        await self.membership.stop()
        await self._sender.stop()
        await self._listener.stop()
        await cancel_and_wait(*self._fetches)

    # --- sending -------------------------------------------------------------------------------

    async def publish(self, topic: str, payload: bytes) -> None:
        check_topic(topic)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"bus payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
        if not self._sending.is_set():
            raise BusUnavailable("the cluster bus's publishing connection is down")
        if len(self._outbox) >= MAX_OUTBOX:
            raise BusUnavailable("the cluster bus's outbox is full")
        sent = asyncio.get_running_loop().create_future()
        self._outbox.append(_Outgoing(topic, payload, sent))
        self._outbox_ready.set()
        await sent

    async def _send(self, conn: AsyncConnection[Any]) -> None:
        self._sending.set()
        batch: list[_Outgoing] = []
        try:
            while True:
                if not self._outbox:
                    self._outbox_ready.clear()
                    await self._outbox_ready.wait()
                batch, self._outbox = self._outbox, []
                statements = self._statements(batch)
                if len(statements) == 1:
                    await statements[0](conn)
                else:  # one transaction: listeners get every notification, in order, at commit
                    async with conn.transaction():
                        for statement in statements:
                            await statement(conn)
                for item in batch:
                    if not item.sent.done():
                        item.sent.set_result(None)
                batch = []
        finally:
            self._sending.clear()
            failed = BusUnavailable("the cluster bus's publishing connection was lost")
            for item in batch + self._outbox:
                if not item.sent.done():
                    item.sent.set_exception(failed)
            self._outbox = []

    def _statements(self, batch: list[_Outgoing]) -> list[Callable[[AsyncConnection[Any]], Awaitable[None]]]:
        """Consecutive inline messages go in one statement; a spilled one gets its own."""
        statements: list[Callable[[AsyncConnection[Any]], Awaitable[None]]] = []
        channels: list[str] = []
        texts: list[str] = []
        for item in batch:
            self._sequence += 1
            text = envelope.inline(self._token, self._sequence, item.payload)
            if text is not None:
                channels.append(item.topic)
                texts.append(text)
                continue
            if texts:
                statements.append(functools.partial(sql.notify_many, channels=channels, payloads=texts))
                channels, texts = [], []
            statements.append(functools.partial(
                sql.notify_spilled, channel=item.topic, payload=item.payload,
                head=envelope.head(self._token, self._sequence, envelope.SPILLED)))
        if texts:
            statements.append(functools.partial(sql.notify_many, channels=channels, payloads=texts))
        return statements

    # --- receiving -----------------------------------------------------------------------------

    async def _listen(self, conn: AsyncConnection[Any]) -> None:
        for topic in self._subscriptions:
            await sql.listen(conn, topic)
        # Listening before resyncing: what changes during the resync is heard afterwards. A resync may
        # publish, so it waits for the publishing connection (at start-up that one may connect second).
        await self._sending.wait()
        for resync in {id(r): r for rs in self._resyncs.values() for r in rs}.values():
            await resync()
        self._listening.set()
        try:
            async for note in conn.notifies():
                self._on_notify(note)
        finally:
            self._listening.clear()

    def _on_notify(self, note: Notify) -> None:
        parsed = envelope.parse(note.payload)
        if parsed is None:
            log.warning("malformed bus notification ignored", extra={"fields": {"topic": note.channel}})
            return
        held = self._held_back.get(note.channel)
        if held is None and parsed.kind != envelope.SPILLED:
            self._deliver(note.channel, parsed, None)
            return
        if held is None:
            held = self._held_back[note.channel] = deque()
            task = asyncio.create_task(self._release(note.channel, held), name=f"bus-fetch:{note.channel}")
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)
        if len(held) >= MAX_HELD_BACK:
            log.error("bus messages held back past the bound; dropped", extra={"fields": {"topic": note.channel}})
            return
        held.append(parsed)

    async def _release(self, topic: str, held: deque[envelope.Envelope]) -> None:
        """Deliver the topic's held-back messages in order, fetching each spilled one."""
        try:
            while held:
                first = held[0]
                payload = await self._fetch(topic, first) if first.kind == envelope.SPILLED else None
                held.popleft()
                self._deliver(topic, first, payload)
        finally:
            self._held_back.pop(topic, None)

    async def _fetch(self, topic: str, spilled: envelope.Envelope) -> bytes | None:
        for attempt in range(FETCH_ATTEMPTS):
            try:
                payload = await sql.spilled_payload(self.db, spilled.spilled_id())
                if payload is None:
                    log.error("spilled bus message gone before it was read", extra={"fields": {"topic": topic}})
                return payload
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("could not read a spilled bus message", extra={"fields": {
                    "topic": topic, "attempt": attempt + 1, "error": str(exc)}})
                await asyncio.sleep(0.1 * 2 ** attempt)
        return None

    def _deliver(self, topic: str, message: envelope.Envelope, fetched: bytes | None) -> None:
        if message.kind == envelope.SPILLED:
            if fetched is None:
                self._lost(topic)
                return
            payload = fetched
        else:
            try:
                payload = message.payload()
            except ValueError:
                log.warning("malformed bus payload ignored", extra={"fields": {"topic": topic}})
                return
        own = message.sender == self._token
        for subscription in self._subscriptions.get(topic, ()):
            if own and not subscription.echo:
                continue
            try:
                subscription.handler(payload)
            except Exception:
                log.exception("bus handler failed", extra={"fields": {"topic": topic}})

    def _lost(self, topic: str) -> None:
        # A message of this topic could not be read: its subscribers rebuild what they mirror.
        for resync in self._resyncs.get(topic, ()):
            task = asyncio.create_task(self._resync(resync), name=f"bus-resync:{topic}")
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)

    @staticmethod
    async def _resync(resync: Resync) -> None:
        try:
            await resync()
        except Exception:
            log.exception("bus resync failed")
