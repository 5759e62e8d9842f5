"""``nk.channel_*``: chat from server code, as any user or as the system. Messages reach the channel's
members on every process and are stored (``persist``) exactly as a socket member's are."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC
from typing import Any

import orjson

from nakama_py.core.channel_ids import channel_id, stream_of_channel
from nakama_py.core.channels import ChannelService, message_id_of
from nakama_py.core.notifications import SYSTEM_SENDER
from nakama_py.errors import invalid_argument
from nakama_py.proto import api_pb2
from nakama_py.runtime.call_scope import tracked
from nakama_py.runtime.types import ChannelMessage


def _sender(sender_id: str | None) -> str:
    """Nakama's runtime: no sender (or "") is the system user."""
    if not sender_id:
        return SYSTEM_SENDER
    try:
        return str(uuid.UUID(str(sender_id)))
    except ValueError:
        raise invalid_argument("expects sender id to either be not set, empty string or a valid UUID") from None


def _content(content: Mapping[str, Any] | None) -> str:
    if content is None:
        return "{}"
    try:
        return orjson.dumps(dict(content)).decode()
    except (TypeError, ValueError) as exc:
        raise invalid_argument(f"error encoding content: {exc}") from None


def _message(message: api_pb2.ChannelMessage) -> ChannelMessage:
    return ChannelMessage(message.channel_id, message.message_id, message.code.value, message.sender_id,
                          message.username, orjson.loads(message.content or "{}"),
                          message.create_time.ToDatetime(tzinfo=UTC),
                          message.update_time.ToDatetime(tzinfo=UTC), message.persistent.value,
                          message.room_name, message.group_id, message.user_id_one, message.user_id_two)


class ChannelCalls:
    _channels: ChannelService

    @tracked
    async def channel_id_build(self, sender_id: str | None, target: str, channel_type: int) -> str:
        """The id of a room (type 1, or 0), direct message (2: ``target`` a user id) or group channel (3).
        With a sender, Nakama's checks apply (the other user exists and does not block them; group member)."""
        sender = _sender(sender_id) if sender_id else None
        return channel_id(await self._channels.stream_for_join(sender, target, channel_type))

    @tracked
    async def channel_message_send(self, channel_id: str, content: Mapping[str, Any] | None,
                                   sender_id: str | None = None, sender_username: str | None = None,
                                   persist: bool = True) -> ChannelMessage:
        stream = stream_of_channel(channel_id)
        return _message(await self._channels.send_as(stream, channel_id, _content(content), _sender(sender_id),
                                                     sender_username or "", persist=persist))

    @tracked
    async def channel_message_update(self, channel_id: str, message_id: str, content: Mapping[str, Any] | None,
                                     sender_id: str | None = None, sender_username: str | None = None,
                                     persist: bool = True) -> ChannelMessage:
        """With ``persist`` the stored message must have been sent by ``sender_id``."""
        stream = stream_of_channel(channel_id)
        return _message(await self._channels.update_as(
            stream, channel_id, message_id_of(message_id), _content(content), _sender(sender_id),
            sender_username or "", persist=persist))

    @tracked
    async def channel_message_remove(self, channel_id: str, message_id: str, sender_id: str | None = None,
                                     sender_username: str | None = None, persist: bool = True) -> ChannelMessage:
        stream = stream_of_channel(channel_id)
        return _message(await self._channels.remove_as(stream, channel_id, message_id_of(message_id),
                                                       _sender(sender_id), sender_username or "", persist=persist))

    @tracked
    async def channel_messages_list(self, channel_id: str, limit: int = 100, forward: bool = True,
                                    cursor: str | None = None
                                    ) -> tuple[list[ChannelMessage], str | None, str | None]:
        """``(messages, next_cursor, prev_cursor)`` of the stored history, with no membership check."""
        stream_of_channel(channel_id)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise invalid_argument("limit must be 1-100")
        page = await self._channels.history(None, channel_id, limit, forward, cursor or "")
        return [_message(m) for m in page.messages], page.next_cursor or None, page.prev_cursor or None
