"""The cluster bus over NATS (``cluster.nats_url``), for clusters of nodes.

Each topic is the subject ``<prefix>.bus.<topic>``; ``cluster.nats_prefix`` keeps several
clusters apart on one NATS server. NATS keeps the order of one connection's messages on one
subject, which gives the bus's per-topic, per-publisher order. A payload larger than the
server's ``max_payload`` travels as numbered chunks that the receiver reassembles (bounded in
count and age), so the bus's own limit (``MAX_PAYLOAD_BYTES``) holds on any NATS server.

A process's own publications never cross the wire back to it: the connection is made with NATS's
``no_echo``, and ``publish`` hands the payload to this process's echo subscriptions itself. The busiest
topic (ranks, with the cross-node wants and acks: docs/scaling.md) subscribes without echo, so NATS
used to send a process a third of its receptions only for it to parse and drop them.

Membership comes from NATS too: every process announces itself on ``<prefix>.members`` every
``HEARTBEAT_SEC``, answers a newcomer's hello at once, and says goodbye when it stops; a peer
unheard for ``EXPIRY_SEC`` is taken for dead. After a reconnection every resync runs (messages
sent while this process was cut off are lost) and the process says hello again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg

from nakama_py.cluster.bus import MAX_PAYLOAD_BYTES, BusUnavailable, Handler, NodeInfo, Resync, check_topic

log = logging.getLogger("nakama_py.cluster")

HEARTBEAT_SEC = 3.0
EXPIRY_SEC = 10.0
CONNECT_TIMEOUT_SEC = 5.0
HEADER_ROOM = 512  # bytes kept free in each message for the headers below
MAX_PARTIAL = 16  # large messages being reassembled at once; past it the oldest is dropped
MAX_CHUNKS = 4096
PARTIAL_MAX_AGE_SEC = 30.0

ORIGIN = "Nakama-Origin"  # the publishing process, for echo=False
CHUNK = "Nakama-Chunk"  # "<message id>:<index>:<count>" on the chunks of a large payload


@dataclass(frozen=True, slots=True)
class _Subscription:
    handler: Handler
    echo: bool


@dataclass(slots=True)
class _Partial:
    started: float
    parts: list[bytes | None]
    received: int = 0


@dataclass(slots=True)
class _Peers:
    """The other processes heard from, and when each goes stale (monotonic seconds)."""

    stale_at: dict[str, tuple[NodeInfo, float]] = field(default_factory=dict)

    def heard(self, info: NodeInfo, expiry: float) -> None:
        self.stale_at[info.process] = (info, time.monotonic() + expiry)

    def left(self, process: str) -> None:
        self.stale_at.pop(process, None)

    def alive(self) -> list[NodeInfo]:
        now = time.monotonic()
        for process in [p for p, (_, at) in self.stale_at.items() if at <= now]:
            del self.stale_at[process]
        return [info for info, _ in self.stale_at.values()]


class NatsBus:
    def __init__(self, url: str, node: str, *, prefix: str = "nakama", heartbeat_sec: float = HEARTBEAT_SEC,
                 expiry_sec: float = EXPIRY_SEC) -> None:
        self.url = url
        self.prefix = check_topic(prefix)
        self.heartbeat_sec = heartbeat_sec
        self.expiry_sec = expiry_sec
        self._info = NodeInfo(node, f"{node}-{secrets.token_hex(6)}", time.time())
        self._subscriptions: dict[str, list[_Subscription]] = {}
        self._resyncs: list[Resync] = []
        self._partials: dict[tuple[str, str], _Partial] = {}
        self._peers = _Peers()
        self._nc: Client | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.Task[None] | None = None
        self._sequence = 0
        self._started = False

    @property
    def node(self) -> str:
        return self._info.node

    @property
    def process(self) -> str:
        return self._info.process

    def alive(self) -> list[NodeInfo]:
        return [self._info, *self._peers.alive()]

    def subscribe(self, topic: str, handler: Handler, resync: Resync | None = None, *, echo: bool = True) -> None:
        if self._started:
            raise RuntimeError("subscribe to the bus before it starts")
        self._subscriptions.setdefault(check_topic(topic), []).append(_Subscription(handler, echo))
        if resync is not None:
            self._resyncs.append(resync)

    # --- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._started = True
        self._nc = await nats.connect(
            self.url, name=self.process, connect_timeout=CONNECT_TIMEOUT_SEC, allow_reconnect=True,
            max_reconnect_attempts=-1, reconnect_time_wait=0.5, pending_size=8 * MAX_PAYLOAD_BYTES, no_echo=True,
            reconnected_cb=self._reconnected, disconnected_cb=self._disconnected, error_cb=self._error)
        for topic in self._subscriptions:
            await self._nc.subscribe(self._subject(topic), cb=self._on_message)
        await self._nc.subscribe(f"{self.prefix}.members", cb=self._on_member)
        await self._flushed()  # the server has our subscriptions before we resync or announce ourselves
        for resync in self._resyncs:
            await resync()
        await self._announce("hello")
        self._heartbeat = asyncio.create_task(self._beat(), name="nats-heartbeat")

    async def _flushed(self) -> None:
        """Once this returns, the server has every command sent before it. nats-py's ``flush`` alone does not
        promise that: its PING goes straight to the socket, ahead of commands still queued for its flusher
        task (2.16), so the PONG can come back before our SUBs reach the server. A second flush does: the
        flusher, woken by the first, has written the queue before the first PONG is read."""
        assert self._nc is not None
        for _ in range(2):
            await self._nc.flush(int(CONNECT_TIMEOUT_SEC))

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        for task in list(self._tasks):
            task.cancel()
        if self._nc is not None and self._nc.is_connected:
            with contextlib.suppress(Exception):
                await self._announce("leave")
                await self._nc.flush(1)
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    # --- sending -------------------------------------------------------------------------------

    async def publish(self, topic: str, payload: bytes) -> None:
        check_topic(topic)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"bus payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
        nc = self._nc
        if nc is None or not nc.is_connected:
            raise BusUnavailable("the cluster bus's NATS connection is down")
        subject = self._subject(topic)
        room = max(nc.max_payload - HEADER_ROOM, 1)
        if len(payload) <= room:
            await nc.publish(subject, payload, headers={ORIGIN: self.process})
        else:
            self._sequence += 1
            count = -(-len(payload) // room)
            for index in range(count):
                chunk = payload[index * room:(index + 1) * room]
                await nc.publish(subject, chunk,
                                 headers={ORIGIN: self.process, CHUNK: f"{self._sequence}:{index}:{count}"})
        self._deliver(topic, payload, own=True)  # no_echo: NATS does not send it back

    def _subject(self, topic: str) -> str:
        return f"{self.prefix}.bus.{topic}"

    # --- receiving -----------------------------------------------------------------------------

    async def _on_message(self, msg: Msg) -> None:
        headers = msg.headers or {}
        origin = headers.get(ORIGIN, "")
        payload = msg.data
        if CHUNK in headers:
            whole = self._reassemble(origin, headers[CHUNK], msg.data)
            if whole is None:
                return
            payload = whole
        if origin == self.process:
            return  # delivered by publish already (a server that ignored no_echo must not double it)
        self._deliver(msg.subject[len(self.prefix) + 5:], payload, own=False)

    def _deliver(self, topic: str, payload: bytes, *, own: bool) -> None:
        for subscription in self._subscriptions.get(topic, ()):
            if own and not subscription.echo:
                continue
            try:
                subscription.handler(payload)
            except Exception:
                log.exception("bus handler failed", extra={"fields": {"topic": topic}})

    def _reassemble(self, origin: str, chunk_header: str, data: bytes) -> bytes | None:
        try:
            message_id, index_text, count_text = chunk_header.split(":")
            index, count = int(index_text), int(count_text)
        except ValueError:
            log.warning("bus chunk with a bad header dropped", extra={"fields": {"header": chunk_header}})
            return None
        if not 0 <= index < count <= MAX_CHUNKS:
            return None
        key = (origin, message_id)
        partial = self._partials.get(key)
        if partial is None:
            self._drop_stale_partials()
            partial = self._partials[key] = _Partial(time.monotonic(), [None] * count)
        if len(partial.parts) != count or partial.parts[index] is not None:
            return None
        partial.parts[index] = data
        partial.received += 1
        if partial.received < count:
            return None
        del self._partials[key]
        return b"".join(part for part in partial.parts if part is not None)

    def _drop_stale_partials(self) -> None:
        limit = time.monotonic() - PARTIAL_MAX_AGE_SEC
        for key in [k for k, p in self._partials.items() if p.started < limit]:
            del self._partials[key]
        while len(self._partials) >= MAX_PARTIAL:
            oldest = min(self._partials, key=lambda k: self._partials[k].started)
            log.warning("bus dropped a large message still incomplete", extra={"fields": {"from": oldest[0]}})
            del self._partials[oldest]

    # --- membership ----------------------------------------------------------------------------

    async def _announce(self, kind: str) -> None:
        if self._nc is None:
            return
        info = self._info
        body = orjson.dumps({"kind": kind, "node": info.node, "process": info.process, "started_at": info.started_at})
        await self._nc.publish(f"{self.prefix}.members", body)

    async def _on_member(self, msg: Msg) -> None:
        try:
            body: dict[str, Any] = orjson.loads(msg.data)
            info = NodeInfo(str(body["node"]), str(body["process"]), float(body["started_at"]))
            kind = body["kind"]
        except (ValueError, KeyError, TypeError):
            return
        if info.process == self.process:
            return
        if kind == "leave":
            self._peers.left(info.process)
            return
        self._peers.heard(info, self.expiry_sec)
        if kind == "hello":  # a newcomer learns of us now, not a heartbeat later
            await self._announce("beat")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_sec)
            try:
                await self._announce("beat")
            except Exception as exc:
                log.warning("cluster heartbeat failed", extra={"fields": {"error": str(exc)}})

    # --- connection events ---------------------------------------------------------------------

    async def _reconnected(self) -> None:
        log.warning("cluster bus reconnected to NATS; resyncing")
        task = asyncio.create_task(self._resync_all(), name="nats-resync")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resync_all(self) -> None:
        for resync in self._resyncs:
            try:
                await resync()
            except Exception:
                log.exception("bus resync failed")
        await self._announce("hello")

    async def _disconnected(self) -> None:
        log.warning("cluster bus lost its NATS connection; reconnecting")

    async def _error(self, exc: Exception) -> None:
        log.warning("cluster bus NATS error", extra={"fields": {"error": str(exc)}})
