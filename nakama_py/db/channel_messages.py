"""SQL of chat history (Nakama's ``message`` table)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nakama_py.db.pool import Database

NIL = "00000000-0000-0000-0000-000000000000"
_COLUMNS = "id::text, code, sender_id::text, username, content::text, create_time, update_time"
_STREAM = ("stream_mode = %(mode)s AND stream_subject = %(subject)s::uuid AND stream_descriptor = %(descriptor)s::uuid "
           "AND stream_label = %(label)s")


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: str
    code: int
    sender_id: str
    username: str
    content: str
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class StreamKey:
    mode: int
    subject: str
    descriptor: str
    label: str

    def params(self) -> dict[str, Any]:
        return {"mode": self.mode, "subject": self.subject or NIL, "descriptor": self.descriptor or NIL,
                "label": self.label}


async def insert_message(db: Database, stream: StreamKey, message_id: str, sender_id: str, username: str,
                         content: str, when: datetime) -> None:
    await db.execute(
        "INSERT INTO message (id, code, sender_id, username, stream_mode, stream_subject, stream_descriptor, "
        "stream_label, content, create_time, update_time) VALUES (%(id)s, 0, %(sender)s, %(username)s, %(mode)s, "
        "%(subject)s::uuid, %(descriptor)s::uuid, %(label)s, %(content)s::jsonb, %(when)s, %(when)s)",
        {**stream.params(), "id": message_id, "sender": sender_id, "username": username, "content": content,
         "when": when})


async def update_message(db: Database, message_id: str, sender_id: str, username: str, content: str,
                         when: datetime) -> datetime | None:
    """The message's create time, or None when the sender has no such message."""
    rows = await db.fetch(
        "UPDATE message SET update_time = %(when)s, username = %(username)s, content = %(content)s::jsonb "
        "WHERE id = %(id)s::uuid AND sender_id = %(sender)s::uuid RETURNING create_time",
        {"id": message_id, "sender": sender_id, "username": username, "content": content, "when": when})
    return rows[0][0] if rows else None


async def delete_message(db: Database, message_id: str, sender_id: str) -> tuple[datetime, datetime] | None:
    rows = await db.fetch(
        "DELETE FROM message WHERE id = %(id)s::uuid AND sender_id = %(sender)s::uuid "
        "RETURNING create_time, update_time", {"id": message_id, "sender": sender_id})
    return (rows[0][0], rows[0][1]) if rows else None


async def list_messages(db: Database, stream: StreamKey, limit: int, *, ascending: bool,
                        after: tuple[datetime, str] | None, before: tuple[datetime, str] | None) -> list[MessageRow]:
    """Up to ``limit`` messages of the stream in time order (or reverse), past a (time, id) bound."""
    where, params = _STREAM, {**stream.params(), "limit": limit}
    if after is not None:
        where += " AND (create_time, id) > (%(t)s, %(i)s::uuid)"
        params.update(t=after[0], i=after[1])
    if before is not None:
        where += " AND (create_time, id) < (%(t)s, %(i)s::uuid)"
        params.update(t=before[0], i=before[1])
    order = "ASC" if ascending else "DESC"
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM message WHERE {where} "
                          f"ORDER BY create_time {order}, id {order} LIMIT %(limit)s", params)
    return [MessageRow(*row) for row in rows]
