"""The match rules a player's socket goes through (Nakama's pipeline_match.go): create a relayed
match, join one by id or matchmaker token (relayed, or authoritative through its join attempt),
leave, and send data. ``session.single_match`` removes a joining player from their other matches.

A relayed match has no host: it is its stream in the tracker, alive while someone is in it, and
its data goes straight from the sender's process to the members' processes (the router).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nakama_py.core import match_tokens
from nakama_py.core.matches import ids
from nakama_py.core.matches.ids import MatchId
from nakama_py.core.matches.registry import MatchRegistry
from nakama_py.core.matches.types import MatchMessage
from nakama_py.core.presence import Presence, PresenceMeta, StreamMode
from nakama_py.core.router import Router
from nakama_py.core.tracker import Tracker
from nakama_py.proto.realtime_pb2 import Envelope

MATCH_MODES = (StreamMode.MATCH_RELAYED, StreamMode.MATCH_AUTHORITATIVE)


class MatchJoinError(Exception):
    """A join refused with rtapi's error: ``not_found`` (code 4), ``rejected`` (5) or bad input (3)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class Joined:
    """A match as the joining (or creating) player is told about it."""

    match_id: str
    authoritative: bool
    label: str | None
    presences: list[Presence]   # the others already in it
    self_presence: Presence
    size: int                   # Nakama's: 1 or the members on create, the listed presences on join


@dataclass(frozen=True, slots=True)
class Player:
    """The socket session acting."""

    user_id: str
    session_id: str
    username: str


class MatchService:
    def __init__(self, registry: MatchRegistry, tracker: Tracker, router: Router, signing_key: str, *,
                 single_match: bool = False) -> None:
        self.registry = registry
        self._tracker = tracker
        self._router = router
        self._key = signing_key
        self._single_match = single_match
        self.process = tracker.process

    def _presence(self, player: Player, match_id: MatchId) -> Presence:
        return Presence(match_id.stream, player.user_id, player.session_id, self.process,
                        PresenceMeta(player.username))

    async def _track(self, player: Player, match_id: MatchId) -> None:
        await self._tracker.track(player.session_id, player.user_id, match_id.stream, PresenceMeta(player.username))
        if self._single_match:
            for stream in self._tracker.streams_of(player.session_id):
                if stream.mode in MATCH_MODES and stream != match_id.stream:
                    await self._tracker.untrack(player.session_id, stream)

    async def create(self, player: Player, name: str = "") -> Joined:
        match_id = ids.new_relayed(name)
        stream = match_id.stream
        is_new = await self._tracker.track(player.session_id, player.user_id, stream, PresenceMeta(player.username))
        me = self._presence(player, match_id)
        if not name:
            return Joined(str(match_id), False, None, [], me, 1)
        members = self._tracker.members(stream)
        others = [p for p in members if not (is_new and p.session_id == player.session_id)]
        return Joined(str(match_id), False, None, others, me, len(members))

    async def join(self, player: Player, *, match_id: str = "", token: str = "",
                   metadata: Mapping[str, str] | None = None) -> Joined:
        allow_empty = False
        if token:
            try:
                match_id = match_tokens.verify(token, self._key)
            except match_tokens.InvalidMatchToken:
                raise MatchJoinError("bad_input", "Invalid match token") from None
            parsed = ids.parse(match_id)
            if parsed is None:
                raise MatchJoinError("bad_input", "Invalid match token")
            allow_empty = True  # the matchmaker's relayed match is created by its first join
        elif match_id:
            parsed = ids.parse(match_id)
            if parsed is None:
                raise MatchJoinError("bad_input", "Invalid match ID")
        else:
            raise MatchJoinError("bad_input", "No match ID or token found")
        me = self._presence(player, parsed)
        if not parsed.authoritative:
            stream = parsed.stream
            if not allow_empty and not self._tracker.member_count(stream):
                raise MatchJoinError("not_found", "Match not found")
            is_new = self._tracker.get(player.session_id, stream) is None
            if is_new:
                await self._track(player, parsed)
            others = [p for p in self._tracker.members(stream) if not (is_new and p.session_id == player.session_id)]
            return Joined(str(parsed), False, None, others, me, len(others))
        result = await self.registry.join_attempt(parsed, me, dict(metadata or {}))
        if not result.found:
            raise MatchJoinError("not_found", "Match not found")
        if not result.allow:
            raise MatchJoinError("rejected", result.reason or "Match join rejected")
        if result.is_new:
            await self._track(player, parsed)
        others = [p for p in result.presences if not (result.is_new and p.session_id == player.session_id)]
        return Joined(str(parsed), True, result.label, others, me, len(others))

    async def leave(self, player: Player, match_id: str) -> None:
        parsed = ids.parse(match_id)
        if parsed is None:
            raise MatchJoinError("bad_input", "Invalid match ID")
        await self._tracker.untrack(player.session_id, parsed.stream)

    async def send(self, player: Player, match_id: str, op_code: int, data: bytes, reliable: bool,
                   presences: Sequence[tuple[str, str]] | None = None) -> None:
        """``match_data_send``: to the authoritative match's loop, or relayed to the match's other
        members (or only to ``presences``, (user id, session id) pairs, the sender included if listed).
        A sender who is not in the match is ignored, as in Nakama."""
        parsed = ids.parse(match_id)
        if parsed is None:
            raise MatchJoinError("bad_input", "Invalid match ID")
        stream = parsed.stream
        if self._tracker.get(player.session_id, stream) is None:
            return
        if parsed.authoritative:
            await self.registry.send_data(parsed, MatchMessage(
                player.user_id, player.session_id, player.username, self.process, op_code, data, reliable,
                int(time.time() * 1000)))
            return
        members = self._tracker.members(stream)
        if presences:
            wanted = {session_id for _user_id, session_id in presences}
            targets = [p for p in members if p.session_id in wanted]
        else:
            targets = [p for p in members if p.session_id != player.session_id]
        if not targets:
            return
        envelope = Envelope()
        message = envelope.match_data
        message.match_id = match_id
        message.presence.user_id = player.user_id
        message.presence.session_id = player.session_id
        message.presence.username = player.username
        message.op_code = op_code
        message.data = data
        message.reliable = reliable
        await self._router.send_to_presences(targets, envelope)
