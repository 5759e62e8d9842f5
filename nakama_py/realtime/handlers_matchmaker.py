"""``matchmaker_add`` and ``matchmaker_remove`` (rules in ``core.matchmaker``), with Nakama's answers:
a refused count is bad input with its reason, any failure to add is "Error adding to matchmaker"."""

from __future__ import annotations

import logging

from nakama_py.core.matchmaker import (
    MatchmakerError,
    MatchmakerPresence,
    MatchmakerService,
    MatchmakerTicketNotFound,
    check_counts,
    query_or_all,
)
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.errors import ErrorCode, RealtimeError, bad_input
from nakama_py.realtime.pipeline import Handler
from nakama_py.realtime.session import SocketSession

log = logging.getLogger("nakama_py.realtime")


class MatchmakerHandlers:
    def __init__(self, matchmaker: MatchmakerService, node: str) -> None:
        self._matchmaker = matchmaker
        self._node = node

    async def add(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.matchmaker_add
        count_multiple = check_counts(request.min_count, request.max_count,
                                      request.count_multiple.value if request.HasField("count_multiple") else None)
        presence = MatchmakerPresence(session.user_id, session.id, session.username, self._node)
        try:
            ticket, _ = await self._matchmaker.add(
                [presence], session.id, "", query_or_all(request.query), request.min_count, request.max_count,
                count_multiple, dict(request.string_properties), dict(request.numeric_properties))
        except MatchmakerError as exc:
            log.info("matchmaker add refused", extra={"fields": {"sid": session.id, "reason": exc.message}})
            raise RealtimeError(ErrorCode.RUNTIME_EXCEPTION, "Error adding to matchmaker") from None
        reply = Envelope()
        reply.matchmaker_ticket.ticket = ticket
        return reply

    async def remove(self, session: SocketSession, envelope: Envelope) -> Envelope:
        ticket = envelope.matchmaker_remove.ticket
        if not ticket:
            raise bad_input("Invalid matchmaker ticket")
        try:
            await self._matchmaker.remove_session(session.id, ticket)
        except MatchmakerTicketNotFound:
            raise bad_input("Matchmaker ticket not found") from None
        return Envelope()

    def handlers(self) -> dict[str, Handler]:
        return {"matchmaker_add": self.add, "matchmaker_remove": self.remove}
