"""Chat history pages (``GET /v2/channel/{id}``), with Nakama's cursors: ``next_cursor`` and
``prev_cursor`` walk the pages in the listing's direction, and ``cacheable_cursor`` points just
after the newest message returned, so a client may keep it and later fetch only newer messages.
A cursor names its channel and direction; using it elsewhere is an error.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

import orjson

from nakama_py.core.channel_ids import channel_fields
from nakama_py.core.presence import Stream
from nakama_py.db import channel_messages as sql
from nakama_py.db.pool import Database
from nakama_py.errors import invalid_argument
from nakama_py.proto import api_pb2

CURSOR_INVALID = "invalid channel cursor"


@dataclass(frozen=True, slots=True)
class HistoryCursor:
    channel: str
    create_time: datetime
    message_id: str
    forward: bool
    is_next: bool

    def encode(self) -> str:
        return base64.urlsafe_b64encode(orjson.dumps({
            "c": self.channel, "t": self.create_time.isoformat(), "i": self.message_id, "f": self.forward,
            "n": self.is_next})).decode()


def decode_cursor(text: str, channel: str, forward: bool) -> HistoryCursor:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(text.encode()))
        cursor = HistoryCursor(str(data["c"]), datetime.fromisoformat(data["t"]), str(data["i"]), bool(data["f"]),
                               bool(data["n"]))
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise invalid_argument(CURSOR_INVALID) from None
    if cursor.channel != channel or cursor.forward != forward:
        raise invalid_argument(CURSOR_INVALID)
    return cursor


def _message(row: sql.MessageRow, stream: Stream, channel: str) -> api_pb2.ChannelMessage:
    message = api_pb2.ChannelMessage(channel_id=channel, message_id=row.id, sender_id=row.sender_id,
                                     username=row.username, content=row.content)
    message.code.value = row.code
    message.create_time.FromDatetime(row.create_time)
    message.update_time.FromDatetime(row.update_time)
    message.persistent.value = True
    for name, value in channel_fields(stream).items():
        setattr(message, name, value)
    return message


async def list_history(db: Database, stream: Stream, channel: str, limit: int, forward: bool,
                       cursor_text: str) -> api_pb2.ChannelMessageList:
    cursor = decode_cursor(cursor_text, channel, forward) if cursor_text else None
    key = sql.StreamKey(stream.mode, stream.subject, stream.subcontext, stream.label)
    if cursor is None:
        rows = await sql.list_messages(db, key, limit + 1, ascending=forward, after=None, before=None)
    else:
        bound = (cursor.create_time, cursor.message_id)
        ascending = forward == cursor.is_next
        rows = await sql.list_messages(db, key, limit + 1, ascending=ascending,
                                       after=bound if ascending else None, before=None if ascending else bound)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = prev_cursor = None
    if more:
        last = rows[-1]
        next_cursor = HistoryCursor(channel, last.create_time, last.id, forward, True)
    if cursor is not None and rows:
        first = rows[0]
        prev_cursor = HistoryCursor(channel, first.create_time, first.id, forward, False)
    if cursor is not None and not cursor.is_next:  # a page walked backwards reads in the listing's order
        rows.reverse()
        next_cursor, prev_cursor = (_flip(prev_cursor), _flip(next_cursor))
    result = api_pb2.ChannelMessageList()
    result.messages.extend(_message(row, stream, channel) for row in rows)
    if next_cursor is not None:
        result.next_cursor = next_cursor.encode()
    if prev_cursor is not None:
        result.prev_cursor = prev_cursor.encode()
    if rows:
        newest = rows[-1]
        result.cacheable_cursor = HistoryCursor(channel, newest.create_time, newest.id, True, True).encode()
    elif cursor is not None:
        result.cacheable_cursor = HistoryCursor(channel, cursor.create_time, cursor.message_id, True, True).encode()
    return result


def _flip(cursor: HistoryCursor | None) -> HistoryCursor | None:
    if cursor is None:
        return None
    return HistoryCursor(cursor.channel, cursor.create_time, cursor.message_id, cursor.forward, not cursor.is_next)
