"""``match_create``, ``match_join``, ``match_leave`` and ``match_data_send`` (rules in
``core.matches.service``). Refusals answer rtapi's codes and keep the socket open, as Nakama's."""

from __future__ import annotations

from nakama_py.core.matches.service import Joined, MatchJoinError, MatchService, Player
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.errors import ErrorCode, RealtimeError
from nakama_py.realtime.pipeline import Handler
from nakama_py.realtime.session import SocketSession

_CODES = {"not_found": ErrorCode.MATCH_NOT_FOUND, "rejected": ErrorCode.MATCH_JOIN_REJECTED,
          "bad_input": ErrorCode.BAD_INPUT}


def _player(session: SocketSession) -> Player:
    return Player(session.user_id, session.id, session.username)


def _reply(joined: Joined) -> Envelope:
    reply = Envelope()
    match = reply.match
    match.match_id = joined.match_id
    match.authoritative = joined.authoritative
    if joined.label is not None:
        match.label.value = joined.label
    match.size = joined.size
    match.presences.extend(p.to_proto() for p in joined.presences)
    match.self.CopyFrom(joined.self_presence.to_proto())
    return reply


class MatchHandlers:
    def __init__(self, matches: MatchService) -> None:
        self._matches = matches

    async def create(self, session: SocketSession, envelope: Envelope) -> Envelope:
        return _reply(await self._matches.create(_player(session), envelope.match_create.name))

    async def join(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.match_join
        which = request.WhichOneof("id")
        try:
            joined = await self._matches.join(
                _player(session), match_id=request.match_id if which == "match_id" else "",
                token=request.token if which == "token" else "", metadata=dict(request.metadata))
        except MatchJoinError as exc:
            raise RealtimeError(_CODES[exc.kind], exc.message) from None
        return _reply(joined)

    async def leave(self, session: SocketSession, envelope: Envelope) -> Envelope:
        try:
            await self._matches.leave(_player(session), envelope.match_leave.match_id)
        except MatchJoinError as exc:
            raise RealtimeError(_CODES[exc.kind], exc.message) from None
        return Envelope()

    async def send(self, session: SocketSession, envelope: Envelope) -> None:
        request = envelope.match_data_send
        presences = [(p.user_id, p.session_id) for p in request.presences] or None
        try:
            await self._matches.send(_player(session), request.match_id, request.op_code, request.data,
                                     request.reliable, presences)
        except MatchJoinError as exc:
            raise RealtimeError(_CODES[exc.kind], exc.message) from None

    def handlers(self) -> dict[str, Handler]:
        return {"match_create": self.create, "match_join": self.join, "match_leave": self.leave,
                "match_data_send": self.send}
