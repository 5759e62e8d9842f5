"""The matchmaker's replica rules between processes, over the in-memory bus stand-in of
test_tracker_replicas (real processes: tests/test_matchmaker_processes.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson

from nakama_py.config import MatchmakerConfig
from nakama_py.core.matchmaker import MatchmakerPresence, MatchmakerService, wire
from nakama_py.core.matchmaker.service import TOPIC
from nakama_py.core.presence import PresenceMeta, notification_stream
from nakama_py.core.router import CLOSE_REPLACED, Router
from nakama_py.core.tracker import Tracker
from nakama_py.proto.realtime_pb2 import Envelope
from tests.unit.test_tracker_replicas import Loopback, LoopbackBus


class Sockets:
    """This process's sockets: what the router delivers to them."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, Envelope]] = []

    def deliver(self, session_ids: Sequence[str], envelope: Envelope) -> None:
        self.delivered.extend((session_id, envelope) for session_id in session_ids)

    def disconnect(self, session_ids: Sequence[str], reason: str = CLOSE_REPLACED) -> None:
        return None


class Process:
    def __init__(self, cluster: Loopback, name: str) -> None:
        self.bus = LoopbackBus(cluster, name)
        self.tracker = Tracker(self.bus)
        self.sockets = Sockets()
        self.matchmaker = MatchmakerService(MatchmakerConfig(), self.bus, Router(self.bus, self.tracker, self.sockets),
                                            token_key="matchmaker-test-signing-key-32-bytes")

    async def player(self, user: str) -> MatchmakerPresence:
        """A socket of this process (on its notification stream, as every socket is)."""
        session = f"{user}-session"
        await self.tracker.track(session, user, notification_stream(user), PresenceMeta(user, hidden=True))
        return MatchmakerPresence(user, session, user, self.bus.node)

    async def add(self, presence: MatchmakerPresence, mode: str = "race") -> str:
        ticket, _ = await self.matchmaker.add([presence], presence.session_id, "", f"+properties.mode:{mode}", 2, 2, 1,
                                              {"mode": mode}, {})
        return ticket


async def test_tickets_replicate_and_the_leader_delivers_to_the_players_process() -> None:
    cluster = Loopback()
    a, b = Process(cluster, "a"), Process(cluster, "b")
    alice, bob = await a.player("alice"), await a.player("bob")
    ticket_a, ticket_b = await a.add(alice), await a.add(bob)
    assert set(b.matchmaker.pool.tickets) == {ticket_a, ticket_b}

    assert await b.matchmaker.process() == 1  # b leads: the group forms from its replica
    await asyncio.sleep(0)
    assert len(a.matchmaker.pool) == len(b.matchmaker.pool) == 0  # everyone dropped the matched tickets
    matched = {session: envelope.matchmaker_matched for session, envelope in a.sockets.delivered}
    assert set(matched) == {alice.session_id, bob.session_id} and b.sockets.delivered == []
    assert matched[alice.session_id].ticket == ticket_a and matched[bob.session_id].ticket == ticket_b
    assert matched[alice.session_id].token == matched[bob.session_id].token
    assert a.matchmaker.stats().completions == b.matchmaker.stats().completions != []


async def test_a_removal_reaches_every_replica() -> None:
    cluster = Loopback()
    a, b = Process(cluster, "a"), Process(cluster, "b")
    alice = await a.player("alice")
    ticket = await a.add(alice)
    await a.matchmaker.remove_session(alice.session_id, ticket)
    assert ticket not in b.matchmaker.pool.tickets


async def test_a_resend_crossing_a_match_does_not_bring_the_tickets_back() -> None:
    cluster = Loopback()
    a, b = Process(cluster, "a"), Process(cluster, "b")
    alice, bob = await a.player("alice"), await a.player("bob")
    await a.add(alice)
    await a.add(bob)
    stale = orjson.dumps({"p": "a", "all": [wire.encode(t) for t in a.matchmaker.pool.of_owner("a")]})
    assert await b.matchmaker.process() == 1
    for handler in b.bus.handlers[TOPIC]:  # a's re-send, sent before it heard of the match, arrives late
        handler(stale)
    assert len(b.matchmaker.pool) == 0
    assert await b.matchmaker.process() == 0  # nobody is matched twice


async def test_a_new_leader_gets_every_owners_tickets() -> None:
    cluster = Loopback()
    a, b = Process(cluster, "a"), Process(cluster, "b")
    alice = await a.player("alice")
    b.bus.dead = True  # b misses a's add
    await a.add(alice)
    b.bus.dead = False
    assert len(b.matchmaker.pool) == 0
    await b.matchmaker.lead()  # b's first interval as leader asks every owner for its tickets
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(b.matchmaker.pool) == 1
