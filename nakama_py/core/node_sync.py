"""Read-your-writes across nodes without a primary read per request, and mostly without a wait.

Node A answers a player's write, then publishes the change on the rank topic (core/rank_sync.py); node B
applies it a few milliseconds later. Before B reads that player's standing it must have applied every
change another node acknowledged before the request arrived. B cannot look into A, so it asks:

- B publishes a *want* (``["n", node, process, n, sent, now]``, numbered, ``sent`` on B's monotonic clock,
  ``now`` 1 when a request waits for it) on the rank topic;
- every process of another node answers with an *ack* (``["k", asker, n, acker, hold_ms, node, sent]``),
  queued behind every change it had queued when it heard the want: at once for a want a request waits
  for, else in the acker's next payload (its own want of the next interval, or at most an interval
  later), so a node that reads and answers sends one message an interval, not one per peer more;
- messages of one publisher arrive in order, and each payload carries its publisher's sequence number: a
  gap (messages lost while a connection was down) makes the follower rebuild from the database, and
  until that rebuild is done this check answers "not proven".

So once B holds A's ack of a want sent at time s, every change A queued before s is applied at B. No clocks
are compared between machines: each side measures only durations on its own clock.

**One node, one stream of wants.** Every process of B receives every ack (the rank topic is one stream per
publisher, in order), each behind the same changes of its acker. So an ack of a want any process of B sent
proves as much for its siblings, who share B's machine and so its monotonic clock (``sent`` is comparable
to their own ``now``). A process skips its periodic want while a sibling that sorts before it (by process
id) sent one within two intervals: the first reading process of a node sends them, the others take over
when it stops. With three busy workers a node sends one want an interval instead of three, and gets a
third of the acks. (A want a request waits for is always sent: the request needs one sent after it
arrived.)

**The hold (off the read path).** A process that has heard a want from another node within
``HOLD_WINDOW_SEC`` answers a request that changed ranks only ``hold`` seconds after the change was queued
(``settle``; ``cluster.write_hold_ms``, announced in its acks). While its players read, B sends a want every
``WANT_INTERVAL_SEC``; a read at time r is proven at once when every peer has acked a want B sent at
s >= r - hold(peer). Why that suffices: a change of A acknowledged at a < r was queued at q <= a - hold
(A held it), so q < s < h, where h is when A heard the want; A acked behind it. (Had A not held, it
heard no want within the window before q, so h > q as well.) When the latest acks are older than that
(a slow bus, a peer just started, idle wants), the read waits for the next want's acks as before.

When a peer does not ack within ``SYNC_BOUND_SEC`` (dead, still starting, a deaf bus) or the ranks are
being rebuilt, the caller falls back to the primary check (``LeaderboardService.own_records_from_primary``);
a late peer skips the wait until it acks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from nakama_py.cluster.bus import ClusterBus
from nakama_py.request_waits import add_peer_wait

SYNC_BOUND_SEC = 0.25  # past this a peer is late and the primary is asked instead (waiting costs no CPU)
WANT_INTERVAL_SEC = 0.010
READING_SEC = 1.0  # wants keep going this long after a read, so the next read finds fresh acks
HOLD_WINDOW_SEC = 10.0  # a want heard this recently means a reader elsewhere may rely on the hold
MAX_HOLD_SEC = 1.0  # what a peer's announced hold may be (wants older than this are forgotten)
Event = list[Any]

# When the running request (its task's context) last queued a rank change: settle() holds its answer.
_changed_at: ContextVar[float] = ContextVar("nakama_py_rank_change_at", default=0.0)


def note_change() -> None:
    """This request queued a rank change now (core/leaderboard_writes.py calls it)."""
    _changed_at.set(time.monotonic())


def want_event(node: str, process: str, number: int, sent: float, now: bool = True) -> Event:
    """``now``: a request waits for this want, so its acks go at once (a want of an older peer, without
    the flag, is answered at once too)."""
    return ["n", node, process, number, sent, 1 if now else 0]


def ack_event(asker: str, number: int, acker: str, hold_ms: int, node: str | None = None,
              sent: float | None = None) -> Event:
    """``node``/``sent``: the want's node and send time, so the asker's siblings can use the ack too;
    absent for a want of the older form (``["s", node, process, n]``), which only its asker uses."""
    if node is None:
        return ["k", asker, number, acker, hold_ms]
    return ["k", asker, number, acker, hold_ms, node, sent]


@dataclass(slots=True)
class _Wait:
    peers: set[str]
    timer: asyncio.TimerHandle
    requests: list[asyncio.Future[bool]] = field(default_factory=list)

    def finish(self, proven: bool) -> None:
        self.timer.cancel()
        for request in self.requests:
            if not request.done():  # a request cancelled meanwhile is gone
                request.set_result(proven)


class NodeSync:
    """One process's side of the want/ack exchange: it asks for its requests, answers its peers, and
    holds its own answers to writes while readers elsewhere rely on that."""

    def __init__(self, bus: ClusterBus, send: Callable[[Event, bool], None], rebuilding: Callable[[], bool],
                 *, bound: float = SYNC_BOUND_SEC, hold: float = 0.0) -> None:
        self.bus = bus
        self._send = send  # queues an event on this process's rank publisher (urgent: no coalescing delay)
        self._rebuilding = rebuilding  # whether ranks are being rebuilt (changes may have been lost)
        self.bound = bound
        self.hold = min(max(hold, 0.0), MAX_HOLD_SEC)
        self._hold_ms = round(self.hold * 1000)
        self._asked = 0  # the highest want number sent
        self._queued: int | None = None  # the want that requests arriving now wait for, not sent yet
        self._sent_at: dict[int, float] = {}  # recent wants: number -> when sent (monotonic), oldest first
        self._acked: dict[str, int] = {}  # per peer process: the highest of our wants it acked
        # Per peer process: when the newest want of this node (any of its processes) it acked was sent.
        self._fresh: dict[str, float] = {}
        self._sibling_sent = float("-inf")  # when a process of this node sorting before this one last sent a want
        self._hold_of: dict[str, float] = {}  # per peer process: the hold it announced (seconds)
        self._late: set[str] = set()  # peers that missed the bound: the primary is asked until they ack
        # Per want number: the peers whose acks it needs, the requests waiting for them and its deadline.
        # One timer and one wake-up per want, however many requests share it (no task per request).
        self._waits: dict[int, _Wait] = {}
        self._sender: asyncio.Task[None] | None = None
        self._reading_until = 0.0  # wants go on until then
        self._heard_want_at = float("-inf")  # when another node last asked us
        # Acks of periodic wants not sent yet, per asking process (the newest want only: an ack of it
        # answers the older ones too). They go with this process's next want, or when the timer fires.
        self._owed: dict[str, Event] = {}
        self._owed_timer: asyncio.TimerHandle | None = None
        self.at_once = 0  # requests proven by acks already held (for tests and metrics)
        self.proven = 0  # requests proven after waiting for a want's acks
        self.fallbacks = 0  # requests that needed the primary check
        self.held = 0  # answers held for readers elsewhere
        self.wants_sent = 0

    # --- the asking side ---------------------------------------------------------------------

    def peers(self) -> list[str]:
        node = self.bus.node
        return [info.process for info in self.bus.alive() if info.node != node]

    async def caught_up(self) -> bool:
        """Whether every change another node acknowledged before now is applied here (True at once
        without other nodes); False when that could not be proven within the bound."""
        peers = self.peers()
        if not peers:
            return True
        now = time.monotonic()
        self._reading_until = now + READING_SEC
        if self._rebuilding() or not self._late.isdisjoint(peers):
            self._keep_asking()
            self.fallbacks += 1
            return False
        if self._settled(peers, now):
            self._keep_asking()
            self.at_once += 1
            return True
        need = self._want()
        wait = self._waits.get(need)
        if wait is None:
            wait = self._waits[need] = _Wait(set(peers), asyncio.get_running_loop().call_later(
                self.bound, self._expire, need))
        else:
            wait.peers.update(peers)  # a peer heard of since the want was made counts too
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        wait.requests.append(future)
        began = loop.time()
        proven = await future
        add_peer_wait(loop.time() - began)  # waiting on peers, not working: admission leaves it out
        if not proven or self._rebuilding():  # a gap found while waiting: what was lost is not applied yet
            self.fallbacks += 1
            return False
        self.proven += 1
        return True

    def _settled(self, peers: list[str], now: float) -> bool:
        """Whether every peer acked a want of this node sent recently enough that its hold covers a read
        at ``now``."""
        fresh, hold_of = self._fresh, self._hold_of
        for peer in peers:
            sent = fresh.get(peer)
            if sent is None or sent < now - hold_of.get(peer, 0.0):
                return False
        return True

    def _expire(self, need: int) -> None:
        """The bound passed for want ``need``: its late peers are skipped until they ack again."""
        wait = self._waits.pop(need, None)
        if wait is None:
            return
        self._late.update(p for p in wait.peers if self._acked.get(p, 0) < need)
        wait.finish(False)

    def _want(self) -> int:
        """The number of a want sent after now (queued, and sent by the sender task at its next
        interval: measured, sending it at once cost more in messages than it saved in waiting)."""
        if self._queued is None:
            self._queued = self._asked + 1
        self._keep_asking()
        return self._queued

    def _keep_asking(self) -> None:
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_wants(), name="node-sync-wants")

    async def _send_wants(self) -> None:
        """A want every interval while requests wait for one or players read (the next read then finds
        fresh acks); requests arriving meanwhile share the next."""
        while self._queued is not None or time.monotonic() < self._reading_until:
            now = time.monotonic()
            if self._queued is not None or now - self._sibling_sent >= 2 * WANT_INTERVAL_SEC:
                waited_for = self._queued is not None
                self._queued = None
                self._asked += 1
                self._sent_at[self._asked] = now
                self.wants_sent += 1
                self._send_owed()  # the acks owed ride in the same payload as the want
                self._send(want_event(self.bus.node, self.bus.process, self._asked, now, waited_for), True)
                self._forget_before(now - MAX_HOLD_SEC)
            peers = self.peers()
            self._late.intersection_update(peers)
            for known in (self._acked, self._fresh, self._hold_of):
                for gone in [p for p in known if p not in peers]:
                    del known[gone]
            await asyncio.sleep(WANT_INTERVAL_SEC)

    def _forget_before(self, oldest: float) -> None:
        """Drop the send times of wants too old to prove any read (dicts keep insertion order)."""
        sent_at = self._sent_at
        while sent_at:
            number = next(iter(sent_at))
            if sent_at[number] >= oldest:
                break
            del sent_at[number]

    def acked(self, asker: str, number: int, acker: str, hold_ms: int = 0, node: str | None = None,
              sent: float | None = None) -> None:
        """An ack applied in order with the acker's changes (the follower calls this)."""
        mine = asker == self.bus.process
        if mine:
            sent = self._sent_at.get(number, sent)
        elif node != self.bus.node or sent is None:
            return  # another node's want: nothing it proves here
        if sent is not None and sent > self._fresh.get(acker, float("-inf")):
            self._fresh[acker] = sent
        self._hold_of[acker] = min(max(hold_ms, 0) / 1000, MAX_HOLD_SEC)
        if not mine:
            return
        if number > self._acked.get(acker, 0):
            self._acked[acker] = number
        self._late.discard(acker)
        # Peers ack in order, so the wants are done lowest first; one still waiting stops the walk.
        for need in sorted(self._waits):
            wait = self._waits[need]
            if any(self._acked.get(p, 0) < need for p in wait.peers):
                break
            del self._waits[need]
            wait.finish(True)

    # --- the answering side ------------------------------------------------------------------

    def wanted(self, node: str, asker: str, number: int, sent: float | None = None, now: bool = True) -> None:
        """Another process asks: ack behind every change queued so far. Processes of the asker's own
        node are covered by its write marks and stay silent; those sorting after it note when it asked,
        to skip their own periodic want (``sent`` is None for a want of the older form). ``now``: a
        request waits for the want, so the ack goes at once; a periodic want's ack waits for this
        process's next want or at most an interval (``_owed``)."""
        if node == self.bus.node:
            if sent is not None and asker < self.bus.process and sent > self._sibling_sent:
                self._sibling_sent = sent
            return
        self._heard_want_at = time.monotonic()
        ack = ack_event(asker, number, self.bus.process, self._hold_ms, node if sent is not None else None, sent)
        if now:
            self._owed.pop(asker, None)  # this ack answers the owed one too
            self._send(ack, True)
            return
        self._owed[asker] = ack
        if self._owed_timer is None:
            self._owed_timer = asyncio.get_running_loop().call_later(WANT_INTERVAL_SEC, self._send_owed)

    def _send_owed(self) -> None:
        if self._owed_timer is not None:
            self._owed_timer.cancel()
            self._owed_timer = None
        owed, self._owed = self._owed, {}
        for ack in owed.values():
            self._send(ack, True)

    async def settle(self, since: float) -> None:
        """Called before a request begun at ``since`` (monotonic) is answered: if it changed ranks while
        readers on other nodes may rely on the hold, wait until the hold has passed since the change."""
        changed = _changed_at.get()
        if changed < since or self.hold <= 0 or changed - self._heard_want_at > HOLD_WINDOW_SEC:
            return
        until = changed + self.hold
        delay = until - time.monotonic()
        if delay <= 0:
            return
        self.held += 1
        began = time.monotonic()
        while delay > 0:  # a loop's timer may fire a fraction of a millisecond early: never answer before
            await asyncio.sleep(delay)
            delay = until - time.monotonic()
        add_peer_wait(time.monotonic() - began)  # waiting, not working: admission leaves it out

    async def close(self) -> None:
        if self._owed_timer is not None:
            self._owed_timer.cancel()
        for need in list(self._waits):
            self._waits.pop(need).finish(False)
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sender
