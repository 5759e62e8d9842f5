"""``channel_join``, ``channel_leave`` and ``channel_message_send``/``update``/``remove`` (rules in
``core.channels``)."""

from __future__ import annotations

from nakama_py.core.channel_ids import channel_fields, channel_id
from nakama_py.core.channels import ChannelService
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.pipeline import Handler
from nakama_py.realtime.session import SocketSession


class ChannelHandlers:
    def __init__(self, channels: ChannelService) -> None:
        self._channels = channels

    async def join(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.channel_join
        joined = await self._channels.join(
            session.id, session.user_id, session.username, request.target, request.type,
            persistence=request.persistence.value if request.HasField("persistence") else True,
            hidden=request.hidden.value)
        reply = Envelope()
        channel = reply.channel
        channel.id = channel_id(joined.stream)
        channel.presences.extend(p.to_proto() for p in joined.others)
        channel.self.CopyFrom(joined.self_presence.to_proto())
        for name, value in channel_fields(joined.stream).items():
            setattr(channel, name, value)
        return reply

    async def leave(self, session: SocketSession, envelope: Envelope) -> Envelope:
        await self._channels.leave(session.id, envelope.channel_leave.channel_id)
        return Envelope()

    async def send(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.channel_message_send
        reply = Envelope()
        reply.channel_message_ack.CopyFrom(await self._channels.send(session.id, request.channel_id,
                                                                     request.content))
        return reply

    async def update(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.channel_message_update
        reply = Envelope()
        reply.channel_message_ack.CopyFrom(await self._channels.update(
            session.id, request.channel_id, request.message_id, request.content))
        return reply

    async def remove(self, session: SocketSession, envelope: Envelope) -> Envelope:
        request = envelope.channel_message_remove
        reply = Envelope()
        reply.channel_message_ack.CopyFrom(await self._channels.remove(session.id, request.channel_id,
                                                                       request.message_id))
        return reply

    def handlers(self) -> dict[str, Handler]:
        return {"channel_join": self.join, "channel_leave": self.leave, "channel_message_send": self.send,
                "channel_message_update": self.update, "channel_message_remove": self.remove}
