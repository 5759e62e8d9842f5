"""SQL of in-app notifications (``notification``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString, NamedTuple

from nakama_py.db.errors import map_errors
from nakama_py.db.pool import Connection, Database


class NotificationRow(NamedTuple):
    """A notification to store."""

    id: str
    user_id: str
    subject: str
    content: str  # JSON
    code: int
    sender_id: str


class StoredNotification(NamedTuple):
    id: str
    subject: str
    content: dict[str, Any]
    code: int
    sender_id: str
    create_time: datetime


async def insert_notifications(conn: Connection, rows: Sequence[NotificationRow]) -> list[datetime]:
    """Store the rows in one statement; their create times, in row order."""
    with map_errors():
        cur = await conn.execute(
            "INSERT INTO notification (id, user_id, subject, content, code, sender_id) "
            "SELECT * FROM unnest(%(ids)s::uuid[], %(user_ids)s::uuid[], %(subjects)s::text[],"
            " %(contents)s::jsonb[], %(codes)s::smallint[], %(sender_ids)s::uuid[]) "
            "RETURNING id::text, create_time",
            {"ids": [r.id for r in rows], "user_ids": [r.user_id for r in rows], "subjects": [r.subject for r in rows],
             "contents": [r.content for r in rows], "codes": [r.code for r in rows],
             "sender_ids": [r.sender_id for r in rows]})
        created = {notification_id: create_time for notification_id, create_time in await cur.fetchall()}
    return [created[r.id] for r in rows]


async def user_ids_page(db: Database, after: str | None, limit: int) -> list[str]:
    """Up to ``limit`` user ids in id order past ``after``, the system user left out (a send to all)."""
    rows = await db.fetch(
        "SELECT id::text FROM users WHERE id <> '00000000-0000-0000-0000-000000000000'"
        " AND (%(after)s::uuid IS NULL OR id > %(after)s::uuid) ORDER BY id LIMIT %(limit)s",
        {"after": after, "limit": limit})
    return [row[0] for row in rows]


_COLUMNS: LiteralString = "SELECT id::text, subject, content, code, sender_id::text, create_time FROM notification "


async def list_notifications(db: Database, user_id: str, limit: int,
                             after: tuple[datetime, str] | None) -> list[StoredNotification]:
    """A user's notifications, oldest first, starting after ``(create_time, id)`` when given."""
    if after is None:
        return await db.fetch_as(
            StoredNotification._make, _COLUMNS + "WHERE user_id = %(user_id)s ORDER BY create_time, id LIMIT %(limit)s",
            {"user_id": user_id, "limit": limit})
    return await db.fetch_as(
        StoredNotification._make,
        _COLUMNS + "WHERE user_id = %(user_id)s AND (create_time, id) > (%(create_time)s, %(id)s::uuid)"
        " ORDER BY create_time, id LIMIT %(limit)s",
        {"user_id": user_id, "create_time": after[0], "id": after[1], "limit": limit})


async def delete_notifications(db: Database, user_id: str, ids: Sequence[str]) -> None:
    await db.execute("DELETE FROM notification WHERE user_id = %(user_id)s AND id = ANY(%(ids)s::uuid[])",
                     {"user_id": user_id, "ids": list(ids)})
