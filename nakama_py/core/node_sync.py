"""Read-your-writes across nodes without a primary read per request.

Node A answers a player's write, then publishes the change on the rank topic (core/rank_sync.py); node B
applies it a few milliseconds later. Before B reads that player's standing it must have applied every
change another node acknowledged before the request arrived. B cannot look into A, so it asks:

- B publishes a *want* (``["s", node, process, n]``, numbered) on the rank topic, after the request arrived;
- every process of another node answers with an *ack* (``["k", asker, n, acker]``) in its next rank
  payload, queued behind every change it had queued when it heard the want. A change acknowledged to a
  player before B's request arrived was queued before B sent the want, so before the ack;
- messages of one publisher arrive in order, and each payload carries its publisher's sequence number: a
  gap (messages lost while a connection was down) makes the follower rebuild from the database, and
  until that rebuild is done this check answers "not proven".

So once every live process of another node has acked a want sent after the request arrived, every change
acknowledged before then is applied here: no clocks, no primary read. Requests share wants (at most one
every ``WANT_INTERVAL_SEC``; requests arriving meanwhile wait for the next), so a busy node sends at most
200 a second however many requests it serves, and the acks ride in the peers' rank payloads. When
a peer does not ack within ``SYNC_BOUND_SEC`` (dead, still starting, a
deaf bus) or the ranks are being rebuilt, the caller falls back to the primary check
(``LeaderboardService.own_records_from_primary``); a late peer skips the wait until it acks again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nakama_py.cluster.bus import ClusterBus
from nakama_py.request_waits import add_peer_wait

SYNC_BOUND_SEC = 0.25  # past this a peer is late and the primary is asked instead (waiting costs no CPU)
WANT_INTERVAL_SEC = 0.005
Event = list[Any]


def want_event(node: str, process: str, number: int) -> Event:
    return ["s", node, process, number]


def ack_event(asker: str, number: int, acker: str) -> Event:
    return ["k", asker, number, acker]


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
    """One process's side of the want/ack exchange: it asks for its requests and answers its peers."""

    def __init__(self, bus: ClusterBus, send: Callable[[Event, bool], None], rebuilding: Callable[[], bool],
                 *, bound: float = SYNC_BOUND_SEC) -> None:
        self.bus = bus
        self._send = send  # queues an event on this process's rank publisher (urgent: no coalescing delay)
        self._rebuilding = rebuilding  # whether ranks are being rebuilt (changes may have been lost)
        self.bound = bound
        self._asked = 0  # the highest want number sent
        self._queued: int | None = None  # the want that requests arriving now wait for, not sent yet
        self._acked: dict[str, int] = {}  # per peer process: the highest of our wants it acked
        self._late: set[str] = set()  # peers that missed the bound: the primary is asked until they ack
        # Per want number: the peers whose acks it needs, the requests waiting for them and its deadline.
        # One timer and one wake-up per want, however many requests share it (no task per request).
        self._waits: dict[int, _Wait] = {}
        self._sender: asyncio.Task[None] | None = None
        self.proven = 0  # requests answered without the primary (for tests and metrics)
        self.fallbacks = 0  # requests that needed the primary check

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
        need = self._want()
        if self._rebuilding() or not self._late.isdisjoint(peers):
            self.fallbacks += 1
            return False
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

    def _expire(self, need: int) -> None:
        """The bound passed for want ``need``: its late peers are skipped until they ack again."""
        wait = self._waits.pop(need, None)
        if wait is None:
            return
        self._late.update(p for p in wait.peers if self._acked.get(p, 0) < need)
        wait.finish(False)

    def _want(self) -> int:
        """The number of a want sent after now (queued, and sent by the sender task)."""
        if self._queued is None:
            self._queued = self._asked + 1
            if self._sender is None or self._sender.done():
                self._sender = asyncio.create_task(self._send_wants(), name="node-sync-wants")
        return self._queued

    async def _send_wants(self) -> None:
        while self._queued is not None:
            number = self._queued
            self._queued = None
            self._asked = number
            self._send(want_event(self.bus.node, self.bus.process, number), True)
            peers = self.peers()
            self._late.intersection_update(peers)
            for gone in [p for p in self._acked if p not in peers]:
                del self._acked[gone]
            await asyncio.sleep(WANT_INTERVAL_SEC)  # requests arriving meanwhile share the next want

    def acked(self, asker: str, number: int, acker: str) -> None:
        """An ack applied in order with the acker's changes (the follower calls this)."""
        if asker != self.bus.process:
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

    def wanted(self, node: str, asker: str, number: int) -> None:
        """Another process asks: ack behind every change queued so far (processes of the asker's
        own node are covered by its write marks and stay silent)."""
        if node != self.bus.node:
            # Urgent: the asker's requests are waiting. Under load the flush still carries every ack and
            # change queued in the same loop pass; measured, coalescing acks for 5 ms saved CPU only below
            # saturation (docs/scaling.md) and cost every waiting request those 5 ms.
            self._send(ack_event(asker, number, self.bus.process), True)

    async def close(self) -> None:
        for need in list(self._waits):
            self._waits.pop(need).finish(False)
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sender
