"""``status_follow``, ``status_unfollow`` and ``status_update`` (rules in ``core.status``)."""

from __future__ import annotations

from nakama_py.core.status import StatusService
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.pipeline import Handler
from nakama_py.realtime.session import SocketSession


class StatusHandlers:
    def __init__(self, status: StatusService) -> None:
        self._status = status

    async def follow(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.status_follow
        presences = await self._status.follow(session.id, session.user_id, session.username,
                                              list(request.user_ids), list(request.usernames))
        reply = Envelope()
        reply.status.SetInParent()
        reply.status.presences.extend(p.to_proto() for p in presences)
        return reply

    async def unfollow(self, session: SocketSession, envelope: Envelope) -> Envelope:
        self._status.unfollow(session.id, session.user_id, list(envelope.status_unfollow.user_ids))
        return Envelope()

    async def update(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.status_update
        status = request.status.value if request.HasField("status") else None
        await self._status.update(session.id, session.user_id, session.username, status)
        return Envelope()

    def handlers(self) -> dict[str, Handler]:
        return {"status_follow": self.follow, "status_unfollow": self.unfollow, "status_update": self.update}
