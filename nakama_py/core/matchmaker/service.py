"""The matchmaker of the cluster: tickets in, groups out, ``matchmaker_matched`` to every player.

Each process adds and removes the tickets of its own sessions and parties (it *owns* them) and
tells the others on the bus topic ``nakama.matchmaker``; every process keeps a replica of the whole
pool. One process at a time, the leader (a leader job, cluster/leader_jobs.py, wired in state.py),
runs an interval every ``matchmaker.interval_sec``: it forms groups from its replica, tells every
process to drop the matched tickets, runs the runtime's matchmaker-matched function for each group
(a match id) or signs a token for a relayed match, and sends each player its ``matchmaker_matched``
through the router, wherever the player's socket is.

Consistency: a process that (re)connects to the bus re-sends its tickets and asks for the others';
a process that becomes leader asks every owner to re-send theirs, so a leader that took over from a
dead one works from the owners' own lists. Tickets of a process that leaves the cluster (its sockets
are gone with it) are dropped within the bus membership bound plus ``SWEEP_INTERVAL_SEC``. A ticket
removed while the leader is forming a group that holds it may still be matched (the removal was in
flight on the bus): the window is one bus delivery.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from nakama_py.cluster.bus import BusUnavailable, ClusterBus
from nakama_py.config import MatchmakerConfig
from nakama_py.core import match_tokens
from nakama_py.core.departed import departed_processes
from nakama_py.core.matchmaker import wire
from nakama_py.core.matchmaker.errors import (
    MatchmakerDuplicateSession,
    MatchmakerNotAvailable,
    MatchmakerQueryInvalid,
    MatchmakerTicketNotFound,
    MatchmakerTooManyTickets,
)
from nakama_py.core.matchmaker.grouping import run_interval
from nakama_py.core.matchmaker.pool import TicketPool
from nakama_py.core.matchmaker.types import MatchmakerEntry, MatchmakerPresence, Ticket
from nakama_py.core.query import QuerySyntaxError, parse_query
from nakama_py.core.router import Router
from nakama_py.proto.realtime_pb2 import Envelope, MatchmakerMatched

log = logging.getLogger("nakama_py.matchmaker")

TOPIC = "nakama.matchmaker"
TOKEN_EXPIRY_SEC = 30           # Nakama's matchmaker token lifetime
SWEEP_INTERVAL_SEC = 2.0
NEW_PROCESS_GRACE_SEC = 10.0    # a process first heard of this recently may not be in the membership yet

STATS_COMPLETIONS = 10         # Nakama keeps the last 10 matched tickets' times
TOMBSTONE_SEC = 300.0          # how long a removed ticket's id is refused if a late re-send brings it back

# The runtime's matchmaker-matched function: a match id for the group, or None for a relayed match.
MatchedHook = Callable[[list[MatchmakerEntry]], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class MatchmakerStats:
    """``GET /v2/matchmaker/stats``: the pool now, and when the latest matched tickets were added and
    matched (unix nanoseconds), newest last."""

    ticket_count: int
    oldest_ticket_create_time: int | None
    completions: list[tuple[int, int]]


class MatchmakerService:
    def __init__(self, config: MatchmakerConfig, bus: ClusterBus, router: Router, *, token_key: str) -> None:
        self.config = config
        self.pool = TicketPool()
        self.matched_hook: MatchedHook | None = None
        self._bus = bus
        self._router = router
        self._token_key = token_key
        self._process = bus.process
        self._led_at: float | None = None     # when this process last ran an interval as the leader
        self._heard: dict[str, float] = {}
        self._replies: set[asyncio.Task[None]] = set()
        self._completions: deque[tuple[int, int]] = deque(maxlen=STATS_COMPLETIONS)
        # Removed and matched tickets (ids are never reused): an owner's re-send that crossed their removal
        # on the bus must not bring them back, or a new leader could match them twice.
        self._gone: dict[str, float] = {}
        self._stopped = False
        bus.subscribe(TOPIC, self._on_message, self._resync, echo=False)

    # --- tickets of this process's sessions and parties ----------------------------------------

    async def add(self, presences: Sequence[MatchmakerPresence], session_id: str, party_id: str, query: str,
                  min_count: int, max_count: int, count_multiple: int, string_properties: Mapping[str, str],
                  numeric_properties: Mapping[str, float]) -> tuple[str, int]:
        """Add a ticket (``session_id`` empty for a party's, ``party_id`` empty for a solo one);
        its id and creation time (unix nanoseconds). Counts are checked by the caller (rules.py)."""
        if self._stopped:
            raise MatchmakerNotAvailable()
        try:
            parsed = parse_query(query)
        except QuerySyntaxError:
            raise MatchmakerQueryInvalid() from None
        sessions = [p.session_id for p in presences]
        if len(set(sessions)) != len(sessions):
            raise MatchmakerDuplicateSession()
        limit = self.config.max_tickets
        if any(len(self.pool.of_session(s)) >= limit for s in sessions) or (
                party_id and len(self.pool.of_party(party_id)) >= limit):
            raise MatchmakerTooManyTickets()
        ticket = Ticket(
            ticket=str(uuid.uuid4()), owner=self._process, node=self._bus.node, presences=tuple(presences),
            session_id=session_id, party_id=party_id, query_text=query, query=parsed, min_count=min_count,
            max_count=max_count, count_multiple=count_multiple, string_properties=dict(string_properties),
            numeric_properties={k: float(v) for k, v in numeric_properties.items()}, created_at=time.time_ns())
        self.pool.add(ticket)
        await self._publish({"a": [wire.encode(ticket)]})
        return ticket.ticket, ticket.created_at

    async def remove_session(self, session_id: str, ticket: str) -> None:
        """The session's own (solo) ticket; ``MatchmakerTicketNotFound`` for any other."""
        found = self.pool.get(ticket)
        if found is None or found.party_id or found.session_id != session_id:
            raise MatchmakerTicketNotFound()
        await self._remove([ticket])

    async def remove_all_session(self, session_id: str) -> None:
        """Every ticket the session is in (its own, and its party's): when its socket closes."""
        await self._remove(self.pool.of_session(session_id))

    async def remove_party(self, party_id: str, ticket: str) -> None:
        found = self.pool.get(ticket)
        if found is None or found.session_id or found.party_id != party_id:
            raise MatchmakerTicketNotFound()
        await self._remove([ticket])

    async def remove_all_party(self, party_id: str) -> None:
        await self._remove(self.pool.of_party(party_id))

    def stats(self) -> MatchmakerStats:
        """The cluster's pool as this process's replica holds it; completions as the leader reported them."""
        oldest = min((t.created_at for t in self.pool.tickets.values()), default=None)
        return MatchmakerStats(len(self.pool), oldest, list(self._completions))

    def stop(self) -> None:
        """No new tickets from here on (the server is stopping)."""
        self._stopped = True

    async def _remove(self, tickets: Sequence[str] | set[str]) -> None:
        removed = [t.ticket for t in self.pool.remove_many(list(tickets))]
        if removed:
            self._forget(removed)
            await self._publish({"r": removed})

    def _forget(self, tickets: Sequence[str]) -> None:
        now = time.monotonic()
        for ticket in tickets:
            self._gone[ticket] = now

    def _admit(self, tickets: list[Ticket]) -> list[Ticket]:
        return [t for t in tickets if t.ticket not in self._gone]

    # --- the leader's interval ------------------------------------------------------------------

    async def lead(self) -> None:
        """One interval, run by the leader job on one process of the cluster at a time."""
        now = time.monotonic()
        try:
            if self._led_at is None or now - self._led_at > 2 * self.config.interval_sec + 5:
                # Newly the leader: work from every owner's own list, not only from what was heard.
                await self._publish({"sync": True})
            self._led_at = now
            await self.process()
        except Exception:
            log.exception("matchmaker interval failed")

    async def process(self) -> int:
        """Form what groups the pool allows now and tell their players; the number formed."""
        if not self.pool.active:
            return 0
        result = run_interval(self.pool, self.config)
        for ticket in result.expired:
            self.pool.active.pop(ticket, None)
        if not result.groups:
            return 0
        matched = [t.ticket for group in result.groups for t in group]  # run_interval took them out of the pool
        self._forget(matched)
        completed = time.time_ns()
        completions = [[t.created_at, completed] for group in result.groups for t in group for _ in t.presences]
        self._completions.extend((created, done) for created, done in completions)
        await self._publish({"r": matched, "c": completions[-STATS_COMPLETIONS:]})
        await asyncio.gather(*(self._deliver(group) for group in result.groups))
        return len(result.groups)

    async def _deliver(self, group: list[Ticket]) -> None:
        pairs = [(entry, ticket) for ticket in group for entry in ticket.entries()]
        entries = [entry for entry, _ in pairs]
        match_id = await self._match_id(entries)
        users = [_user(entry, ticket) for entry, ticket in pairs]
        template = Envelope()
        matched = template.matchmaker_matched
        if match_id:
            matched.match_id = match_id
        else:
            matched.token = match_tokens.issue(f"{uuid.uuid4()}.", self._token_key, TOKEN_EXPIRY_SEC)
        matched.users.extend(users)
        try:
            for entry, user in zip(entries, users, strict=True):
                envelope = Envelope()
                envelope.CopyFrom(template)
                envelope.matchmaker_matched.self.CopyFrom(user)
                envelope.matchmaker_matched.ticket = entry.ticket
                await self._router.send_to_sessions([(entry.presence.user_id, entry.presence.session_id)], envelope)
        except BusUnavailable:
            log.warning("matchmaker matched messages not all delivered: the bus is down")

    async def _match_id(self, entries: list[MatchmakerEntry]) -> str | None:
        hook = self.matched_hook
        if hook is None:
            return None
        try:
            return await hook(entries) or None
        except Exception:
            log.exception("matchmaker matched function failed; the group gets a relayed match token")
            return None

    # --- the replica --------------------------------------------------------------------------

    def _on_message(self, payload: bytes) -> None:
        message = orjson.loads(payload)
        process = message.get("p", "")
        if process == self._process:
            return
        self._heard[process] = time.monotonic()
        try:
            if "a" in message:
                for ticket in self._admit([wire.decode(item) for item in message["a"]]):
                    self.pool.add(ticket)
            elif "r" in message:
                self.pool.remove_many(message["r"])
                self._forget(message["r"])
                self._completions.extend((int(created), int(done)) for created, done in message.get("c", ()))
            elif "all" in message:
                self._replace_owner(process, self._admit([wire.decode(item) for item in message["all"]]))
            elif message.get("sync"):
                task = asyncio.get_running_loop().create_task(self._publish_own())
                self._replies.add(task)  # held until done: the loop keeps only weak references
                task.add_done_callback(self._replies.discard)
        except (ValueError, TypeError, KeyError, QuerySyntaxError):
            log.warning("undecodable matchmaker message dropped", extra={"fields": {"process": process}})

    def _replace_owner(self, owner: str, tickets: list[Ticket]) -> None:
        wanted = {t.ticket: t for t in tickets}
        for current in self.pool.of_owner(owner):
            if current.ticket not in wanted:
                self.pool.remove(current.ticket)
        for ticket in tickets:
            if self.pool.get(ticket.ticket) is None:
                self.pool.add(ticket)

    async def _publish(self, body: dict[str, Any]) -> None:
        body["p"] = self._process
        try:
            await self._bus.publish(TOPIC, orjson.dumps(body))
        except BusUnavailable:
            # The replicas catch up when the bus is back: the resync re-sends this process's tickets.
            log.warning("matchmaker change not published: the bus is down")

    async def _publish_own(self) -> None:
        await self._publish({"all": [wire.encode(t) for t in self.pool.of_owner(self._process)]})

    async def _resync(self) -> None:
        """After a (re)connection: tell the others this process's tickets and ask for theirs."""
        await self._publish_own()
        await self._publish({"sync": True})

    async def sweep(self) -> None:
        """Drop the tickets of processes that left the cluster; runs for the life of the process."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_SEC)
            try:
                now = time.monotonic()
                self._gone = {t: at for t, at in self._gone.items() if now - at < TOMBSTONE_SEC}
                for owner in departed_processes(self.pool.owners(), self._process, self._bus, self._heard,
                                                NEW_PROCESS_GRACE_SEC):
                    gone = self.pool.of_owner(owner)
                    self.pool.remove_many([t.ticket for t in gone])
                    log.info("matchmaker tickets of a departed process removed",
                             extra={"fields": {"process": owner, "tickets": len(gone)}})
            except Exception:
                log.exception("matchmaker sweep failed")


def _user(entry: MatchmakerEntry, ticket: Ticket) -> MatchmakerMatched.MatchmakerUser:
    user = MatchmakerMatched.MatchmakerUser(party_id=entry.party_id)
    presence = entry.presence
    user.presence.user_id = presence.user_id
    user.presence.session_id = presence.session_id
    user.presence.username = presence.username
    user.string_properties.update(ticket.string_properties)
    user.numeric_properties.update(ticket.numeric_properties)
    return user
