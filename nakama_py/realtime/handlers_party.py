"""The ``party_*`` socket messages (rules in ``core.party``, cluster in ``core.parties``).

A refusal of a party rule is answered as Nakama does: ``BAD_INPUT`` with the message of the call
("Error joining party: party full"); a malformed request with Nakama's plain message
("Invalid party ID").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nakama_py.core.parties import Caller, PartyService, check_matchmaker_query
from nakama_py.core.party import PartyError
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.errors import RealtimeError, bad_input
from nakama_py.realtime.pipeline import Handler
from nakama_py.realtime.session import SocketSession

# What Nakama says before a party rule's refusal, per message.
PREFIXES = {
    "party_create": "Error creating party",
    "party_join": "Error joining party",
    "party_promote": "Error promoting new party leader",
    "party_accept": "Error accepting party join request",
    "party_remove": "Error removing party member or join request",
    "party_close": "Error closing party",
    "party_join_request_list": "Error listing party join requests",
    "party_matchmaker_add": "Error adding party to matchmaker",
    "party_matchmaker_remove": "Error closing party",  # sic: Nakama's words for this one
    "party_data_send": "Error sending party data",
    "party_update": "Error updating party",
}


def _caller(session: SocketSession) -> Caller:
    return Caller(session.user_id, session.id, session.username)


def _refused(name: str, exc: PartyError) -> RealtimeError:
    return bad_input(f"{PREFIXES[name]}: {exc.message}")


class PartyHandlers:
    def __init__(self, parties: PartyService) -> None:
        self._parties = parties

    async def create(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.party_create
        return await self._parties.create(_caller(session), open=request.open, max_size=request.max_size,
                                          label=request.label, hidden=request.hidden)

    async def join(self, session: SocketSession, envelope: Envelope) -> Envelope:
        await self._parties.join(_caller(session), envelope.party_join.party_id)
        return Envelope()

    async def leave(self, session: SocketSession, envelope: Envelope) -> Envelope:
        await self._parties.leave(_caller(session), envelope.party_leave.party_id)
        return Envelope()

    async def promote(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.party_promote
        await self._parties.promote(_caller(session), request.party_id,
                                    request.presence if request.HasField("presence") else None)
        return Envelope()

    async def accept(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.party_accept
        await self._parties.accept(_caller(session), request.party_id,
                                   request.presence if request.HasField("presence") else None)
        return Envelope()

    async def remove(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.party_remove
        await self._parties.remove(_caller(session), request.party_id,
                                   request.presence if request.HasField("presence") else None)
        return Envelope()

    async def close(self, session: SocketSession, envelope: Envelope) -> Envelope:
        await self._parties.close(_caller(session), envelope.party_close.party_id)
        return Envelope()

    async def join_request_list(self, session: SocketSession, envelope: Envelope) -> Envelope:
        party_id = envelope.party_join_request_list.party_id
        presences = await self._parties.join_requests(_caller(session), party_id)
        reply = Envelope()
        reply.party_join_request.party_id = party_id
        reply.party_join_request.presences.extend(presences)
        return reply

    async def matchmaker_add(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.party_matchmaker_add
        ticket = check_matchmaker_query(
            request.query, request.min_count, request.max_count,
            request.count_multiple.value if request.HasField("count_multiple") else None,
            dict(request.string_properties), dict(request.numeric_properties))
        reply = Envelope()
        reply.party_matchmaker_ticket.party_id = request.party_id
        reply.party_matchmaker_ticket.ticket = await self._parties.matchmaker_add(_caller(session), request.party_id,
                                                                                  ticket)
        return reply

    async def matchmaker_remove(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.party_matchmaker_remove
        await self._parties.matchmaker_remove(_caller(session), request.party_id, request.ticket)
        return Envelope()

    async def data_send(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.party_data_send
        await self._parties.data_send(_caller(session), request.party_id, request.op_code, request.data)
        return Envelope()

    async def update(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.party_update
        await self._parties.update(_caller(session), request.party_id, label=request.label, open=request.open,
                                   hidden=request.hidden)
        return Envelope()

    def handlers(self) -> dict[str, Handler]:
        table: dict[str, Callable[[SocketSession, Envelope], Awaitable[Envelope]]] = {
            "party_create": self.create, "party_join": self.join, "party_leave": self.leave,
            "party_promote": self.promote, "party_accept": self.accept, "party_remove": self.remove,
            "party_close": self.close, "party_join_request_list": self.join_request_list,
            "party_matchmaker_add": self.matchmaker_add, "party_matchmaker_remove": self.matchmaker_remove,
            "party_data_send": self.data_send, "party_update": self.update,
        }
        return {name: _with_prefix(name, handler) for name, handler in table.items()}


def _with_prefix(name: str, handler: Callable[[SocketSession, Envelope], Awaitable[Envelope]]) -> Handler:
    async def handle(session: SocketSession, envelope: Envelope) -> Envelope:
        try:
            return await handler(session, envelope)
        except PartyError as exc:
            raise _refused(name, exc) from None
    return handle
