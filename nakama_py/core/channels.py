"""Chat channels: Nakama's rules for joining rooms, direct messages (the other user must exist)
and group channels (through the groups feature's ``GroupMembership``), and for sending, updating
and removing messages, persisted when the sender joined with persistence. Messages reach the
channel's members on every process through the router.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import orjson

from nakama_py.core.accounts import AccountService
from nakama_py.core.channel_history import list_history
from nakama_py.core.channel_ids import CONTROL_CHARS, ROOM_NAME_MAX, channel_fields, stream_of_channel
from nakama_py.core.notifications import CODE_DM_REQUEST, NotificationSend, NotificationService
from nakama_py.core.presence import Presence, PresenceMeta, Stream, StreamMode
from nakama_py.core.router import Router
from nakama_py.core.tracker import Tracker
from nakama_py.db import channel_messages as sql
from nakama_py.db.pool import Database
from nakama_py.errors import NakamaError, invalid_argument, not_found
from nakama_py.proto import api_pb2
from nakama_py.proto import realtime_pb2 as rt

INVALID_TARGET = "Invalid channel target"


class GroupMembership(Protocol):
    """The groups feature answers whether a user may use a group's channel (member or above)."""

    async def can_chat(self, group_id: str, user_id: str) -> bool: ...


class DirectMessagePolicy(Protocol):
    """The friends feature answers whether ``recipient`` blocks ``sender`` (Nakama refuses such a DM
    as "User ID not found")."""

    async def blocks(self, recipient: str, sender: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class JoinedChannel:
    stream: Stream
    self_presence: Presence
    others: list[Presence]


def _fill(message: api_pb2.ChannelMessage | rt.ChannelMessageAck, stream: Stream) -> None:
    for name, value in channel_fields(stream).items():
        setattr(message, name, value)


def _content(content: str) -> str:
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise invalid_argument("Message content must be a valid JSON object")
    return content


class ChannelService:
    """Nakama's chat rules: joining rooms, direct messages and group channels; sending, updating and
    removing messages (persisted when the sender joined with persistence); the history."""

    def __init__(self, db: Database, tracker: Tracker, router: Router, accounts: AccountService,
                 notifications: NotificationService, groups: GroupMembership | None = None) -> None:
        self._db = db
        self._tracker = tracker
        self._router = router
        self._accounts = accounts
        self._notifications = notifications
        self.groups = groups  # set by the groups feature; until then group channels are not found
        self.direct_messages: DirectMessagePolicy | None = None  # set by the friends feature (blocks)

    async def stream_for_join(self, user_id: str | None, target: str, channel_type: int) -> Stream:
        """The stream a join (or the runtime's ``channel_id_build``) names; ``user_id`` None is the system,
        which skips the block and membership checks (a direct message still needs a user on each side)."""
        if not target:
            raise invalid_argument(INVALID_TARGET)
        if channel_type in (0, 1):
            if len(target) > ROOM_NAME_MAX:
                raise invalid_argument(f"Channel name is required and must be 1-64 chars: {INVALID_TARGET}")
            if CONTROL_CHARS.search(target):
                raise invalid_argument(f"Channel name must not contain control chars: {INVALID_TARGET}")
            return Stream(StreamMode.CHANNEL, "", "", target)
        if channel_type == 2:
            try:
                other = str(uuid.UUID(target))
            except ValueError:
                raise invalid_argument(f"Invalid user ID in direct message join: {INVALID_TARGET}") from None
            if other == NIL_ID:
                raise invalid_argument(f"Invalid user ID in direct message join: {INVALID_TARGET}")
            if user_id is None:
                raise invalid_argument(f"Direct message channel needs a sender ID: {INVALID_TARGET}")
            blocked = self.direct_messages is not None and await self.direct_messages.blocks(other, user_id)
            if blocked or not await self._accounts.get_users(ids=[other]):
                raise invalid_argument(f"User ID not found: {INVALID_TARGET}")
            low, high = sorted((user_id, other))
            return Stream(StreamMode.DM, low, high)
        if channel_type == 3:
            try:
                group_id = str(uuid.UUID(target))
            except ValueError:
                raise invalid_argument(f"Invalid group ID in group channel join: {INVALID_TARGET}") from None
            if user_id is not None and (self.groups is None or not await self.groups.can_chat(group_id, user_id)):
                raise invalid_argument(f"Group not found: {INVALID_TARGET}")
            return Stream(StreamMode.GROUP, group_id)
        raise invalid_argument("Invalid channel type")

    async def join(self, session_id: str, user_id: str, username: str, target: str, channel_type: int, *,
                   persistence: bool, hidden: bool) -> JoinedChannel:
        stream = await self.stream_for_join(user_id, target, channel_type)
        meta = PresenceMeta(username, hidden=hidden, persistence=persistence)
        is_new = await self._tracker.track(session_id, user_id, stream, meta)
        visible = self._tracker.members(stream, include_hidden=False)
        if is_new and stream.mode == StreamMode.DM:
            other = stream.subcontext if stream.subject == user_id else stream.subject
            if all(p.user_id != other for p in visible):
                await self._notifications.send([NotificationSend(
                    other, f"{username} wants to chat", {"username": username}, CODE_DM_REQUEST, user_id)],
                    system=True)
        me = self._tracker.get(session_id, stream) or Presence(stream, user_id, session_id, "", meta)
        others = [p for p in visible if not (is_new and p.session_id == session_id)]
        return JoinedChannel(stream, me, others)

    async def leave(self, session_id: str, channel: str) -> None:
        await self._tracker.untrack(session_id, stream_of_channel(channel))

    def _sender(self, session_id: str, stream: Stream, action: str) -> Presence:
        presence = self._tracker.get(session_id, stream)
        if presence is None:
            raise invalid_argument(f"Must join channel before {action} messages")
        return presence

    async def send(self, session_id: str, channel: str, content: str) -> rt.ChannelMessageAck:
        stream = stream_of_channel(channel)
        content = _content(content)
        sender = self._sender(session_id, stream, "sending")
        message = await self.send_as(stream, channel, content, sender.user_id, sender.meta.username,
                                     persist=sender.meta.persistence)
        return self._ack(stream, message)

    async def update(self, session_id: str, channel: str, message_id: str, content: str) -> rt.ChannelMessageAck:
        message_id = message_id_of(message_id)
        stream = stream_of_channel(channel)
        content = _content(content)
        sender = self._sender(session_id, stream, "updating")
        message = await self.update_as(stream, channel, message_id, content, sender.user_id, sender.meta.username,
                                       persist=sender.meta.persistence)
        return self._ack(stream, message)

    async def remove(self, session_id: str, channel: str, message_id: str) -> rt.ChannelMessageAck:
        message_id = message_id_of(message_id)
        stream = stream_of_channel(channel)
        sender = self._sender(session_id, stream, "removing")
        message = await self.remove_as(stream, channel, message_id, sender.user_id, sender.meta.username,
                                       persist=sender.meta.persistence)
        return self._ack(stream, message)

    # --- on behalf of a sender (the socket's member above, or the runtime: any user or the system) ---

    async def send_as(self, stream: Stream, channel: str, content: str, sender_id: str, username: str, *,
                      persist: bool) -> api_pb2.ChannelMessage:
        """Deliver a new message to the channel's members on every process; stored when ``persist``."""
        now = datetime.now(UTC)
        message = self._message(stream, channel, str(uuid.uuid4()), CODE_CHAT, sender_id, username, content, now,
                                now, persist)
        if persist:
            await sql.insert_message(self._db, _key(stream), message.message_id, sender_id, username, content, now)
        await self._deliver(stream, message)
        return message

    async def update_as(self, stream: Stream, channel: str, message_id: str, content: str, sender_id: str,
                        username: str, *, persist: bool) -> api_pb2.ChannelMessage:
        """With ``persist`` the stored message must be the sender's ("not found" otherwise)."""
        now = datetime.now(UTC)
        created = now
        if persist:
            stored = await sql.update_message(self._db, message_id, sender_id, username, content, now)
            if stored is None:
                raise invalid_argument("Could not find message to update in channel history")
            created = stored
        message = self._message(stream, channel, message_id, CODE_CHAT_UPDATE, sender_id, username, content,
                                created, now, persist)
        await self._deliver(stream, message)
        return message

    async def remove_as(self, stream: Stream, channel: str, message_id: str, sender_id: str, username: str, *,
                        persist: bool) -> api_pb2.ChannelMessage:
        now = datetime.now(UTC)
        created, updated = now, now
        if persist:
            times = await sql.delete_message(self._db, message_id, sender_id)
            if times is None:
                raise invalid_argument("Could not find message to remove in channel history")
            created, updated = times
        message = self._message(stream, channel, message_id, CODE_CHAT_REMOVE, sender_id, username, "{}", created,
                                updated, persist)
        await self._deliver(stream, message)
        return message

    async def history(self, caller: str | None, channel: str, limit: int, forward: bool, cursor: str
                      ) -> api_pb2.ChannelMessageList:
        """A page of the channel's stored messages; ``caller`` None (the runtime) skips the membership checks."""
        try:
            stream = stream_of_channel(channel)
        except NakamaError:
            raise invalid_argument("Invalid channel ID.") from None
        if caller is not None and stream.mode == StreamMode.DM and caller not in (stream.subject, stream.subcontext):
            raise invalid_argument("Invalid channel ID.")
        if caller is not None and stream.mode == StreamMode.GROUP and (
                self.groups is None or not await self.groups.can_chat(stream.subject, caller)):
            raise not_found("Group not found.")
        return await list_history(self._db, stream, channel, limit, forward, cursor)

    def _message(self, stream: Stream, channel: str, message_id: str, code: int, sender_id: str, username: str,
                 content: str, created: datetime, updated: datetime, persistent: bool) -> api_pb2.ChannelMessage:
        message = api_pb2.ChannelMessage(channel_id=channel, message_id=message_id, sender_id=sender_id,
                                         username=username, content=content)
        message.code.value = code
        message.create_time.FromDatetime(created)
        message.update_time.FromDatetime(updated)
        message.persistent.value = persistent
        _fill(message, stream)
        return message

    def _ack(self, stream: Stream, message: api_pb2.ChannelMessage) -> rt.ChannelMessageAck:
        ack = rt.ChannelMessageAck(channel_id=message.channel_id, message_id=message.message_id,
                                   username=message.username)
        ack.code.CopyFrom(message.code)
        ack.create_time.CopyFrom(message.create_time)
        ack.update_time.CopyFrom(message.update_time)
        ack.persistent.CopyFrom(message.persistent)
        _fill(ack, stream)
        return ack

    async def _deliver(self, stream: Stream, message: api_pb2.ChannelMessage) -> None:
        envelope = rt.Envelope()
        envelope.channel_message.CopyFrom(message)
        await self._router.send_to_stream(stream, envelope)


CODE_CHAT, CODE_CHAT_UPDATE, CODE_CHAT_REMOVE = 0, 1, 2
NIL_ID = "00000000-0000-0000-0000-000000000000"


def message_id_of(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise invalid_argument("Invalid message identifier") from None


def _key(stream: Stream) -> sql.StreamKey:
    return sql.StreamKey(stream.mode, stream.subject, stream.subcontext, stream.label)
