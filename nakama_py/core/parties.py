"""Parties across the cluster: each party lives on the process of its creator.

The party id is ``<uuid>.<process>``; a socket on any process reaches the party through that
process (``ProcessCalls`` on the bus topic ``nakama.party.<process>``, or directly when it is this
one). Membership is presence on the party's stream: the member's own process tracks it (an open
join) or the party's process tracks it for the member's process (an accepted request), the tracker
replicates it to every process, and the party's process hears joins and leaves from its tracker
listener, which keeps the member list, hands the lead to the oldest member when the leader leaves,
and closes the party when the last member is gone. Presence events reach every member through the
tracker like any stream's; party messages go out through the router wherever members are.

What results from a rule is sent through one outbox task in order (a leader change after the
presence that caused it, never before). A party whose process left the cluster is closed for the
members of every other process (``party_close``) by their own process's sweep.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import orjson

from nakama_py.cluster.bus import ClusterBus
from nakama_py.config import PartyConfig
from nakama_py.core import party as rules
from nakama_py.core.matchmaker import (
    MatchmakerError,
    MatchmakerNotAvailable,
    MatchmakerPresence,
    MatchmakerService,
    check_counts,
    query_or_all,
)
from nakama_py.core.party import Party, PartyError, make_presence, party_stream, user_presence
from nakama_py.core.party_listing import (
    ListCursor,
    PartyListError,
    PartyListing,
    decode_cursor,
    encode_cursor,
    matching,
    ordered,
)
from nakama_py.core.presence import Presence, PresenceMeta, Stream, StreamMode, notification_stream
from nakama_py.core.process_calls import CallFailed, ProcessCalls
from nakama_py.core.query import QuerySyntaxError, parse_query
from nakama_py.core.router import Router
from nakama_py.core.tracker import Tracker
from nakama_py.errors import Code, NakamaError, invalid_argument
from nakama_py.proto import realtime_pb2 as rt

log = logging.getLogger("nakama_py.realtime")

SWEEP_INTERVAL_SEC = 2.0
# A listing asks every process; one that does not answer within this is left out of it.
LIST_TIMEOUT_SEC = 1.0
# A party stream first seen this recently may belong to a process not yet in this one's membership view.
NEW_HOST_GRACE_SEC = 10.0
OUTBOX_SIZE = 10_000


class Caller(NamedTuple):
    """The socket session making a party call."""

    user_id: str
    session_id: str
    username: str


class MatchmakerQuery(NamedTuple):
    query: str
    min_count: int
    max_count: int
    count_multiple: int
    string_properties: dict[str, str]
    numeric_properties: dict[str, float]


def parse_party_id(party_id: str) -> Stream:
    """The party's stream from its id; Nakama's "Invalid party ID" for anything else."""
    subject, dot, process = party_id.partition(".")
    try:
        parsed = uuid.UUID(subject)
    except ValueError:
        raise invalid_argument("Invalid party ID") from None
    if not dot or str(parsed) != subject.lower():
        raise invalid_argument("Invalid party ID")
    return party_stream(str(parsed), process)


def check_presence(presence: rt.UserPresence | None) -> rt.UserPresence:
    if presence is None or not presence.user_id or not presence.session_id or not presence.username:
        raise invalid_argument("Invalid presence")
    return presence


def check_matchmaker_query(query: str, min_count: int, max_count: int, count_multiple: int | None,
                           string_properties: dict[str, str],
                           numeric_properties: dict[str, float]) -> MatchmakerQuery:
    """A party's ticket request, checked by the matchmaker's rules (the same as a solo ticket's)."""
    multiple = check_counts(min_count, max_count, count_multiple)
    return MatchmakerQuery(query_or_all(query), min_count, max_count, multiple, string_properties,
                           numeric_properties)


def check_label(label: str) -> None:
    """A party label is a JSON object of at most 2048 bytes (empty means ``{}``)."""
    if len(label.encode()) > rules.LABEL_MAX_BYTES:
        raise PartyError(rules.LABEL_TOO_LONG)
    try:
        value = orjson.loads(label or "{}")
    except orjson.JSONDecodeError as exc:
        raise PartyError(f"failed to unmarshal party label: {exc}") from None
    if not isinstance(value, dict):
        raise PartyError("failed to unmarshal party label: not a JSON object")


def _presence_args(presence: Presence) -> list[str]:
    return [presence.user_id, presence.session_id, presence.meta.username, presence.process]


def _wanted_args(presence: rt.UserPresence) -> list[str]:
    return [presence.user_id, presence.session_id, presence.username]


def _wanted(args: list[str]) -> rt.UserPresence:
    return rt.UserPresence(user_id=args[0], session_id=args[1], username=args[2])


class PartyService:
    def __init__(self, bus: ClusterBus, tracker: Tracker, router: Router, config: PartyConfig, *,
                 single_party: bool = False) -> None:
        self._tracker = tracker
        self._router = router
        self._config = config
        self._bus = bus
        self._single_party = single_party
        self.process = bus.process
        self.matchmaker: MatchmakerService | None = None  # set where the matchmaker is built (state.py)
        self._parties: dict[str, Party] = {}             # party uuid -> the parties of this process
        self._calls = ProcessCalls(bus, "party")
        self._calls.serve(self._serve)
        self._outbox: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue(OUTBOX_SIZE)
        self._first_seen: dict[Stream, float] = {}      # remote party streams with members here
        tracker.on_event(self._on_presence)

    def count(self) -> int:
        return len(self._parties)

    # --- calls from sockets (on the socket's process) --------------------------------------------

    async def create(self, caller: Caller, *, open: bool, max_size: int, label: str = "",
                     hidden: bool = False) -> rt.Envelope:
        """The ``party`` reply; the creator leads and is the first member."""
        if max_size < 0 or max_size > rules.MAX_SIZE_LIMIT:
            raise invalid_argument("Invalid party max size, must be 1-256")
        check_label(label)
        stream = party_stream(str(uuid.uuid4()), self.process)
        creator = make_presence(stream, caller.user_id, caller.session_id, self.process, caller.username)
        party = Party.create(stream, creator, open=open, hidden=hidden, max_size=max_size, label=label)
        self._parties[stream.subject] = party
        self._later(self._track, caller, stream)
        return party.party_message(creator)

    async def join(self, caller: Caller, party_id: str) -> None:
        stream = parse_party_id(party_id)
        joined = await self._call(stream, "join", presence=_presence_args(
            make_presence(stream, caller.user_id, caller.session_id, self.process, caller.username)))
        if joined:  # an open party: this process puts its session on the stream
            self._later(self._track, caller, stream)

    async def _track(self, caller: Caller, stream: Stream) -> None:
        """The caller's session on the party stream, after its reply: as in Nakama, a client hears the
        reply to its create or join before the presence events and party messages it causes."""
        if self._tracker.get(caller.session_id, notification_stream(caller.user_id)) is None:
            return  # the socket closed meanwhile: no presence for a gone session
        await self._tracker.track(caller.session_id, caller.user_id, stream, PresenceMeta(caller.username))
        if self._single_party:
            await self._leave_other_parties(caller.session_id, stream)

    async def leave(self, caller: Caller, party_id: str) -> None:
        await self._tracker.untrack(caller.session_id, parse_party_id(party_id))

    async def promote(self, caller: Caller, party_id: str, presence: rt.UserPresence | None) -> None:
        wanted = check_presence(presence)
        await self._call(parse_party_id(party_id), "promote", caller=caller.session_id, wanted=_wanted_args(wanted))

    async def accept(self, caller: Caller, party_id: str, presence: rt.UserPresence | None) -> None:
        wanted = check_presence(presence)
        await self._call(parse_party_id(party_id), "accept", caller=caller.session_id, wanted=_wanted_args(wanted))

    async def remove(self, caller: Caller, party_id: str, presence: rt.UserPresence | None) -> None:
        wanted = check_presence(presence)
        await self._call(parse_party_id(party_id), "remove", caller=caller.session_id, wanted=_wanted_args(wanted))

    async def close(self, caller: Caller, party_id: str) -> None:
        await self._call(parse_party_id(party_id), "close", caller=caller.session_id)

    async def join_requests(self, caller: Caller, party_id: str) -> list[rt.UserPresence]:
        requests = await self._call(parse_party_id(party_id), "requests", caller=caller.session_id)
        return [_wanted(args) for args in requests]

    async def matchmaker_add(self, caller: Caller, party_id: str, ticket: MatchmakerQuery) -> str:
        """The ticket; every other member is sent it in a ``party_matchmaker_ticket``."""
        stream = parse_party_id(party_id)
        result: str = await self._call(stream, "mm_add", caller=caller.session_id, ticket=list(ticket))
        return result

    async def matchmaker_remove(self, caller: Caller, party_id: str, ticket: str) -> None:
        if not ticket:
            raise invalid_argument("Invalid matchmaker ticket")
        await self._call(parse_party_id(party_id), "mm_remove", caller=caller.session_id, ticket=ticket)

    async def data_send(self, caller: Caller, party_id: str, op_code: int, data: bytes) -> None:
        await self._call(parse_party_id(party_id), "data", caller=caller.session_id, op_code=op_code,
                         data=base64.b64encode(data).decode())

    async def update(self, caller: Caller, party_id: str, *, label: str, open: bool, hidden: bool) -> None:
        if label not in ("", "{}") and hidden:
            raise PartyError(rules.HIDDEN_WITH_LABEL)
        stream = parse_party_id(party_id)
        check_label(label)
        await self._call(stream, "update", caller=caller.session_id, label=label, open=open, hidden=hidden)

    async def list_parties(self, limit: int, *, open: bool | None = None, show_hidden: bool = False, query: str = "",
                   cursor: str = "") -> tuple[list[PartyListing], str]:
        """Parties of every process that match; the next page's cursor ("" on the last page).
        ``PartyListError`` for a bad query or cursor."""
        if limit == 0:
            return [], ""
        query = query or "*"
        offset = decode_cursor(cursor, query, open, limit).offset if cursor else 0
        try:
            parse_query(query)
        except QuerySyntaxError as exc:
            raise PartyListError(f"error parsing query string: {exc}") from None
        request = {"op": "list", "query": query, "open": open, "hidden": show_hidden, "from": self.process}
        processes = {info.process for info in self._bus.alive()} | {self.process}
        replies = await asyncio.gather(*(self._calls.call(p, request, timeout=LIST_TIMEOUT_SEC) for p in processes),
                                       return_exceptions=True)
        found: list[PartyListing] = []
        for reply in replies:
            if isinstance(reply, dict):
                found.extend(PartyListing(*item) for item in reply["r"])
        page = ordered(found)[offset:offset + limit + 1]
        next_cursor = encode_cursor(ListCursor(query, open, offset + limit, limit)) if len(page) > limit else ""
        return page[:limit], next_cursor

    async def _call(self, stream: Stream, op: str, **args: Any) -> Any:
        """Run ``op`` on the party's process; its refusals come back as ``PartyError``."""
        if not stream.label:
            raise PartyError(rules.NOT_FOUND)
        try:
            reply = await self._calls.call(stream.label, {"op": op, "party": stream.subject, "from": self.process,
                                                          **args})
        except CallFailed:
            raise PartyError(rules.NOT_FOUND) from None
        except PartyError:
            raise
        except NakamaError as exc:
            if exc.code == Code.INVALID_ARGUMENT:  # a rule's refusal on the party's process
                raise PartyError(exc.message) from None
            raise
        return reply.get("r")

    # --- the party's process ---------------------------------------------------------------------

    async def _serve(self, request: dict[str, Any]) -> dict[str, Any]:
        if request["op"] == "list":
            found = matching(self._parties.values(), parse_query(request["query"]), request["open"], request["hidden"])
            return {"r": [list(listing) for listing in found]}
        party = self._parties.get(request["party"])
        if party is None:
            raise PartyError(rules.NOT_FOUND)
        op, caller, process = request["op"], request.get("caller", ""), request["from"]
        if op == "join":
            return {"r": await self._join(party, request["presence"])}
        if op == "promote":
            self._send_to_stream(party.stream, party.promote(caller, process, _wanted(request["wanted"])))
        elif op == "accept":
            await self._accept(party, caller, process, _wanted(request["wanted"]))
        elif op == "remove":
            await self._remove(party, caller, process, _wanted(request["wanted"]))
        elif op == "close":
            party.close(caller, process)
            close = rt.Envelope()
            close.party_close.party_id = party.id
            await self._router.send_to_stream(party.stream, close)
            await self._stop(party)
        elif op == "requests":
            return {"r": [_wanted_args(user_presence(p)) for p in party.join_requests(caller, process)]}
        elif op == "mm_add":
            try:
                return {"r": await self._matchmaker_add(party, caller, process,
                                                        MatchmakerQuery(*request["ticket"]))}
            except MatchmakerError as exc:  # told to the client as a refusal of the party call
                raise PartyError(exc.message) from None
        elif op == "mm_remove":
            party.check_leader(caller, process)
            try:
                await self._matchmaker().remove_party(party.id, request["ticket"])
            except MatchmakerError as exc:
                raise PartyError(exc.message) from None
        elif op == "data":
            recipients, envelope = party.data(caller, process, int(request["op_code"]),
                                              base64.b64decode(request["data"]))
            if recipients:
                await self._router.send_to_presences(recipients, envelope)
        elif op == "update":
            self._send_to_stream(party.stream, party.update(caller, process, request["label"], request["open"],
                                                            request["hidden"]))
        else:
            raise invalid_argument(f"unknown party call {op}")
        return {}

    async def _join(self, party: Party, args: list[str]) -> bool:
        user_id, session_id, username, process = args
        joined = party.join_request(make_presence(party.stream, user_id, session_id, process, username))
        if joined:
            self._forget_tickets(party)  # the membership changed: matchmaking stops
        elif party.leader is not None:
            request = rt.Envelope()
            request.party_join_request.party_id = party.id
            request.party_join_request.presences.append(
                rt.UserPresence(user_id=user_id, session_id=session_id, username=username))
            await self._router.send_to_presences([party.leader], request)
        return joined

    async def _accept(self, party: Party, caller: str, process: str, wanted: rt.UserPresence) -> None:
        request = party.accept(caller, process, wanted)
        # The requester's socket must still be live somewhere; then it goes on the stream for its process.
        if self._tracker.get(request.session_id, notification_stream(request.user_id)) is None:
            party.release(request)
            raise PartyError(rules.ACCEPT_FAILED)
        await self._tracker.track(request.session_id, request.user_id, party.stream, request.meta,
                                  process=request.process)
        if self._single_party:
            await self._leave_other_parties(request.session_id, party.stream)
        self._forget_tickets(party)

    async def _remove(self, party: Party, caller: str, process: str, wanted: rt.UserPresence) -> None:
        member = party.remove(caller, process, wanted)
        if member is None:
            return  # a refused join request: it was never on the stream
        self._forget_tickets(party)
        await self._tracker.untrack(member.session_id, party.stream)
        close = rt.Envelope()
        close.party_close.party_id = party.id
        await self._router.send_to_presences([member], close)

    async def _matchmaker_add(self, party: Party, caller: str, process: str, ticket: MatchmakerQuery) -> str:
        members, others = party.matchmaker_members(caller, process)
        presences = [MatchmakerPresence(m.user_id, m.session_id, m.meta.username, self._node_of(m.process))
                     for m in members]
        ticket_id, _ = await self._matchmaker().add(
            presences, session_id="", party_id=party.id, query=ticket.query, min_count=ticket.min_count,
            max_count=ticket.max_count, count_multiple=ticket.count_multiple,
            string_properties=ticket.string_properties, numeric_properties=ticket.numeric_properties)
        if others:
            message = rt.Envelope()
            message.party_matchmaker_ticket.party_id = party.id
            message.party_matchmaker_ticket.ticket = ticket_id
            await self._router.send_to_presences(others, message)
        return ticket_id

    def _matchmaker(self) -> MatchmakerService:
        if self.matchmaker is None:
            raise MatchmakerNotAvailable()
        return self.matchmaker

    def _node_of(self, process: str) -> str:
        """The node name of a process (Nakama's presence ``node``)."""
        return next((info.node for info in self._bus.alive() if info.process == process), self._bus.node)

    def _on_presence(self, stream: Stream, joins: list[Presence], leaves: list[Presence]) -> None:
        """The tracker's joins and leaves (from any process) of the parties of this process."""
        if stream.mode != StreamMode.PARTY or stream.label != self.process:
            return
        party = self._parties.get(stream.subject)
        if party is None:
            return
        for presence in party.joined(joins):
            self._later(self._router.send_to_presences, [presence], party.party_message(presence))
        changed, leader = party.left(leaves)
        if leader is not None:
            self._send_to_stream(stream, leader)
        if party.stopped:
            self._later(self._stop, party)
        elif changed:
            self._forget_tickets(party)

    async def _stop(self, party: Party) -> None:
        party.stopped = True
        self._parties.pop(party.stream.subject, None)
        await self._tracker.untrack_stream(party.stream)
        if self.matchmaker is not None:
            await self.matchmaker.remove_all_party(party.id)

    def _forget_tickets(self, party: Party) -> None:
        if self.matchmaker is not None:
            self._later(self.matchmaker.remove_all_party, party.id)

    async def _leave_other_parties(self, session_id: str, keep: Stream) -> None:
        """``session.single_party``: the session leaves every other party it is in."""
        for stream in self._tracker.streams_of(session_id):
            if stream.mode == StreamMode.PARTY and stream != keep:
                await self._tracker.untrack(session_id, stream)

    # --- ordered effects ---------------------------------------------------------------------------

    def _send_to_stream(self, stream: Stream, envelope: rt.Envelope) -> None:
        self._later(self._router.send_to_stream, stream, envelope)

    def _later(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        try:
            self._outbox.put_nowait(lambda: fn(*args))
        except asyncio.QueueFull:
            log.warning("party outbox full: a party message was dropped")

    async def run(self) -> None:
        """Send what the rules produced, in order; runs for the life of the process."""
        while True:
            effect = await self._outbox.get()
            try:
                await effect()
            except Exception:
                log.exception("party effect failed")

    # --- upkeep --------------------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Close, for this process's members, parties whose process left the cluster; close idle parties
        of this process (``party.idle_check_interval_ms``). Runs for the life of the process."""
        idle_every = self._config.idle_check_interval_ms / 1000
        next_idle = time.monotonic() + idle_every
        last_activity: dict[str, int] = {}
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_SEC)
            try:
                await self._close_orphans()
                if idle_every > 0 and time.monotonic() >= next_idle:
                    next_idle = time.monotonic() + idle_every
                    await self._close_idle(last_activity)
            except Exception:
                log.exception("party sweep failed")

    async def _close_orphans(self) -> None:
        alive = {info.process for info in self._bus.alive()}
        now = time.monotonic()
        seen = set()
        for stream in self._tracker.streams(StreamMode.PARTY):
            if stream.label == self.process:
                continue
            local = [p for p in self._tracker.members(stream) if p.process == self.process]
            if not local:
                continue
            seen.add(stream)
            first = self._first_seen.setdefault(stream, now)
            if stream.label in alive or now - first < NEW_HOST_GRACE_SEC:
                continue
            log.info("party of a departed process closed", extra={"fields": {"party_id": rules.party_id_of(stream)}})
            close = rt.Envelope()
            close.party_close.party_id = rules.party_id_of(stream)
            for presence in local:
                await self._tracker.untrack(presence.session_id, stream)
            await self._router.send_to_presences(local, close)
        for stream in set(self._first_seen) - seen:
            del self._first_seen[stream]

    async def _close_idle(self, last_activity: dict[str, int]) -> None:
        for key, party in list(self._parties.items()):
            before = last_activity.get(key)
            last_activity[key] = party.activity
            if before == party.activity and self._tracker.member_count(party.stream) == 0:
                await self._stop(party)
        for key in set(last_activity) - set(self._parties):
            del last_activity[key]

    async def close_all(self) -> None:
        """Server shutdown: every party of this process closes (its members are told ``party_close``)."""
        for party in list(self._parties.values()):
            close = rt.Envelope()
            close.party_close.party_id = party.id
            with contextlib.suppress(Exception):
                await self._router.send_to_stream(party.stream, close)
                await self._stop(party)
