"""Keeping the rank structures (and board caches) of several server processes in step
(see core/ranks.py).

A process publishes the changes it made (record writes and deletes, boards created or
deleted, buckets purged) on one topic of the cluster bus (cluster/bus.py). Changes are
coalesced for ``COALESCE_SEC`` and sent as few messages as fit under ``MAX_PAYLOAD_BYTES``,
after the write transactions (a NOTIFY inside them would serialise their commits on
PostgreSQL's notify lock). Every other process applies them as they arrive.

A publish that fails is retried with backoff; once the oldest unsent change is older
than ``ranks.VISIBILITY_BOUND_SEC`` the backlog is replaced by one "reload" message, so
peers rebuild from the database rather than stay wrong.

Payload: ``{"p": publishing process, "n": its payload sequence (1, 2, ...), "e": [event, ...]}``, plus ``"w":
worker index, "q": write-mark sequence`` between the workers of one supervisor (cluster/write_marks.py). A gap
in a publisher's sequence means messages were lost: the follower rebuilds from the database. An event is
``["w", board, expiry, owner_hex, score, subscore, stamp_hex, username]`` (a write),
``["d", board, expiry, owner_hex, stamp_hex]`` (a delete), ``["b", board, definition]``
(a board created or changed; null when deleted), ``["x", board, before]`` (forget the
buckets that expired before), ``["r"]`` (reload everything), or the read-your-writes exchange between
nodes (core/node_sync.py): ``["n", node, process, n, sent, now]`` (a want; ``["s", node, process, n]`` from
an older peer) and ``["k", asker, n, acker, hold_ms, node, sent]`` (its ack).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import astuple, dataclass
from typing import Any, Protocol

import orjson

from nakama_py.cluster.bus import ClusterBus, WorkerMarks
from nakama_py.core.leaderboard_types import Leaderboard, TournamentRules, from_micros, micros
from nakama_py.core.node_sync import NodeSync
from nakama_py.core.ranks import VISIBILITY_BOUND_SEC, RankBucket, RankStore
from nakama_py.leaderboard_enums import Operator, SortOrder

log = logging.getLogger("nakama_py.leaderboards")

TOPIC = "nakama_py_ranks"
COALESCE_SEC = 0.005
# Small enough that the PostgreSQL bus sends each as a NOTIFY payload (under its 8000 bytes);
# a larger message would cost a table row.
MAX_PAYLOAD_BYTES = 7800
Event = list[Any]


def write_event(board: str, expiry: int, owner: int, score: int, subscore: int, stamp: int,
                username: str | None) -> Event:
    return ["w", board, expiry, f"{owner:x}", score, subscore, f"{stamp:x}", username]


def delete_event(board: str, expiry: int, owner: int, stamp: int) -> Event:
    return ["d", board, expiry, f"{owner:x}", f"{stamp:x}"]


def drop_event(board: str, before: int) -> Event:
    return ["x", board, before]


RELOAD: Event = ["r"]


def event_owner(event: Event) -> int | None:
    """The record owner a write or delete event is about."""
    return int(event[3], 16) if event[0] in ("w", "d") else None


@dataclass(frozen=True, slots=True)
class Payload:
    events: list[Event]
    worker: int | None  # the sending worker of this supervisor, when it has siblings
    mark: int  # its write-mark sequence after these events
    process: str | None = None  # the publishing process
    sequence: int = 0  # its payload number (consecutive from 1)


def decode(payload: bytes) -> Payload | None:
    """A payload's parts; None for anything malformed."""
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("e"), list):
        return None
    worker, mark = value.get("w"), value.get("q")
    if not isinstance(worker, int) or not isinstance(mark, int):
        worker, mark = None, 0
    process, sequence = value.get("p"), value.get("n")
    if not isinstance(process, str) or not isinstance(sequence, int):
        process, sequence = None, 0
    return Payload([e for e in value["e"] if isinstance(e, list) and e and isinstance(e[0], str)], worker, mark,
                   process, sequence)


class RankPublisher:
    """Coalesces this process's changes and publishes them; without a bus (a service used on its
    own, with no other process to tell) changes are dropped."""

    def __init__(self, bus: ClusterBus | None, *, coalesce_sec: float = COALESCE_SEC,
                 marks: WorkerMarks | None = None) -> None:
        self.bus = bus
        self.coalesce_sec = coalesce_sec
        self.marks = marks
        self._buffer: list[tuple[bytes, int]] = []  # (event, its write-mark sequence; 0 without marks)
        self._oldest = 0.0  # monotonic time of the oldest unsent event
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._urgent = False  # an event waiting that should not wait for the coalescing delay
        self._sequence = 0  # payloads sent (numbered, so peers see a gap when some are lost)

    def start(self) -> None:
        if self._task is None and self.bus is not None:
            self._task = asyncio.create_task(self._run(), name="rank-publisher")

    def publish(self, event: Event, urgent: bool = False) -> None:
        if self.bus is None:
            return
        self._urgent = self._urgent or urgent
        if not self._buffer:
            self._oldest = time.monotonic()
        # Marked before the writer's reply leaves, so a sibling worker serving the writer's next
        # request knows to wait for this event.
        mark = self.marks.mark(event_owner(event)) if self.marks is not None else 0
        self._buffer.append((orjson.dumps(event), mark))
        self._wake.set()

    async def close(self, timeout: float = 2.0) -> None:
        """Send what is pending, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except (TimeoutError, asyncio.CancelledError, Exception):
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task

    def _payloads(self, events: list[tuple[bytes, int]]) -> list[bytes]:
        assert self.bus is not None
        head = '{"p":' + orjson.dumps(self.bus.process).decode() + ","
        if self.marks is not None:
            head += f'"w":{self.marks.index},'
        payloads: list[bytes] = []
        chunk: list[bytes] = []
        size = 0
        mark = 0
        for raw, event_mark in events:
            # An event too large for one chunk (a board with large metadata) goes alone, as a larger message.
            if chunk and size + len(raw) + 1 > MAX_PAYLOAD_BYTES - 96:
                payloads.append(self._wrap(head, chunk, mark if self.marks is not None else None))
                chunk, size = [], 0
            chunk.append(raw)
            size += len(raw) + 1
            mark = max(mark, event_mark)
        if chunk:
            payloads.append(self._wrap(head, chunk, mark if self.marks is not None else None))
        return payloads

    @staticmethod
    def _wrap(head: str, chunk: list[bytes], mark: int | None) -> bytes:
        marked = f'"q":{mark},' if mark is not None else ""
        return (head + marked + '"e":[').encode() + b",".join(chunk) + b"]}"

    async def _send(self, payloads: list[bytes]) -> None:
        assert self.bus is not None
        for payload in payloads:
            # Numbered at sending, so a failed attempt's retry keeps the sequence without a gap.
            numbered = b'{"n":%d,' % (self._sequence + 1) + payload[1:]
            await self.bus.publish(TOPIC, numbered)
            self._sequence += 1

    async def _run(self) -> None:
        delay = 0.05
        while True:
            if not self._buffer:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if not self._closing and not self._urgent:
                await asyncio.sleep(self.coalesce_sec)  # let a burst of writes share one message
            events, self._buffer = self._buffer, []
            self._urgent = False
            oldest = self._oldest
            try:
                await self._send(self._payloads(events))
                delay = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if time.monotonic() - oldest > VISIBILITY_BOUND_SEC:
                    # Peers would be wrong for longer than promised: have them reload instead.
                    events = [(orjson.dumps(RELOAD), max(mark for _, mark in events))]
                self._buffer = events + self._buffer
                self._oldest = oldest
                log.warning("rank publish failed; retrying",
                            extra={"fields": {"error": str(exc), "pending": len(self._buffer)}})
                if self._closing:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)


class RankHolder(Protocol):
    """What the follower needs from the leaderboard service."""

    ranks: RankStore
    marks: WorkerMarks | None
    node_sync: NodeSync | None

    def known_board(self, board_id: str) -> Leaderboard | None: ...

    def put_board(self, board: Leaderboard) -> None: ...

    def forget_board(self, board_id: str) -> None: ...

    def ranked(self, board: Leaderboard) -> bool: ...

    def drop_buckets_before(self, board_id: str, cutoff: int) -> None: ...

    def boards(self) -> list[Leaderboard]: ...

    async def refresh_boards(self) -> None: ...

    async def load_ranks(self, board: Leaderboard, expiry: int, *, force: bool = False) -> RankBucket: ...


def board_event(board_id: str, board: Leaderboard | None) -> Event:
    body = None if board is None else [
        board.authoritative, board.sort_order, board.operator, board.reset_schedule,
        orjson.dumps(board.metadata).decode(), micros(board.create_time), board.enable_ranks,
        None if board.tournament is None else list(astuple(board.tournament))]
    return ["b", board_id, body]


class RankFollower:
    """Applies other processes' changes to this process's ranks and board cache, and
    rebuilds them from the database when changes may have been missed."""

    def __init__(self, holder: RankHolder) -> None:
        self.holder = holder
        self.started = False  # set once the start-up warm-up is done: before that, nothing to rebuild
        self._reloading: asyncio.Task[None] | None = None
        self._again = False
        self._sequences: dict[str, int] = {}  # per publishing process: the last payload number applied

    @property
    def reloading(self) -> bool:
        """A rebuild from the database is scheduled or running (changes may be missing until it ends)."""
        return self._reloading is not None and not self._reloading.done()

    def on_message(self, payload: bytes) -> None:
        decoded = decode(payload)
        if decoded is None:
            return
        if decoded.process is not None:
            last = self._sequences.get(decoded.process)
            if last is not None and decoded.sequence > last + 1 and self.started:
                # Messages of this publisher were lost (a connection was down): rebuild, and until
                # then node_sync proves nothing (this runs before the payload's acks are applied).
                log.warning("rank messages lost; reloading ranks",
                            extra={"fields": {"process": decoded.process, "missed": decoded.sequence - last - 1}})
                self.schedule_reload()
            self._sequences[decoded.process] = max(decoded.sequence, last or 0)
        now = time.time()
        for event in decoded.events:
            try:
                self._apply(event, now)
            except (IndexError, TypeError, ValueError, KeyError, orjson.JSONDecodeError):
                log.warning("malformed rank event ignored", extra={"fields": {"event": repr(event)[:200]}})
        marks = self.holder.marks
        if marks is not None and decoded.worker is not None:
            marks.heard(decoded.worker, decoded.mark)

    def _apply(self, event: Event, now: float) -> None:
        holder = self.holder
        kind = event[0]
        if kind == "w":
            _, board_id, expiry, owner_hex, score, subscore, stamp, username = event
            board = holder.known_board(board_id)
            if board is not None and holder.ranked(board):
                # Only a current (or future) bucket may be started from events alone.
                holder.ranks.write(board_id, int(expiry), board.descending, int(owner_hex, 16), int(score),
                                   int(subscore), int(stamp, 16), username, create=expiry == 0 or expiry > now)
        elif kind == "d":
            _, board_id, expiry, owner_hex, stamp = event
            holder.ranks.delete(board_id, int(expiry), int(owner_hex, 16), int(stamp, 16))
        elif kind == "b":
            _, board_id, body = event
            if body is None:
                holder.forget_board(board_id)
                return
            authoritative, sort_order, operator, reset, metadata, created_us, enable_ranks = body[:7]
            rules = TournamentRules(*body[7]) if len(body) > 7 and body[7] else None
            holder.put_board(Leaderboard(board_id, bool(authoritative), SortOrder(sort_order), Operator(operator),
                                         reset or None, orjson.loads(metadata), from_micros(int(created_us)),
                                         bool(enable_ranks), rules))
        elif kind == "x":
            holder.drop_buckets_before(event[1], int(event[2]))
        elif kind == "r":
            self.schedule_reload()
        elif kind in ("n", "s") and holder.node_sync is not None:
            # "s": an older peer's want, without its send time (only its asker can use the ack).
            _, node, asker, number = event[:4]
            sent = float(event[4]) if kind == "n" else None
            now = len(event) < 6 or bool(event[5])  # a peer that does not say is answered at once
            holder.node_sync.wanted(str(node), str(asker), int(number), sent, now)
        elif kind == "k" and holder.node_sync is not None:
            _, asker, number, acker = event[:4]
            hold_ms = int(event[4]) if len(event) > 4 else 0  # an older peer announces no hold
            node, sent = (str(event[5]), float(event[6])) if len(event) > 6 else (None, None)
            holder.node_sync.acked(str(asker), int(number), str(acker), hold_ms, node, sent)

    async def on_connected(self) -> None:
        # Changes sent while we were not listening are lost: rebuild from the database.
        if self.started:
            self.schedule_reload()

    def schedule_reload(self) -> None:
        if self._reloading is not None and not self._reloading.done():
            self._again = True
            return
        self._reloading = asyncio.create_task(self._reload(), name="rank-reload")

    async def close(self) -> None:
        if self._reloading is not None:
            self._reloading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reloading

    async def _reload(self) -> None:
        holder = self.holder
        while True:
            self._again = False
            heads = holder.marks.heads() if holder.marks is not None else None
            try:
                await holder.refresh_boards()
                keys = set(holder.ranks.buckets)
                keys |= {(b.id, b.current_expiry()) for b in holder.boards()
                         if holder.ranked(b) and b.has_current_bucket()}
                for board_id, expiry in sorted(keys):
                    board = holder.known_board(board_id)
                    if board is not None and holder.ranked(board):
                        await holder.load_ranks(board, expiry, force=True)
                if heads is not None and holder.marks is not None:
                    holder.marks.loaded(heads)
                log.info("leaderboard ranks reloaded", extra={"fields": {"buckets": len(keys)}})
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("leaderboard rank reload failed; retrying", extra={"fields": {"error": str(exc)}})
                await asyncio.sleep(1.0)
                self._again = True
            if not self._again:
                return
