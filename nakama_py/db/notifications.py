"""SQL of in-app notifications (``notification``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from nakama_py.db.pool import Database

NotificationRow = tuple[str, str, str, str, int, str]  # id, user_id, subject, content JSON, code, sender_id


async def insert_notifications(conn: AsyncConnection[Any], rows: Sequence[NotificationRow]) -> list[datetime]:
    """Store the rows in one statement; their create times, in row order."""
    cur = await conn.execute(
        "INSERT INTO notification (id, user_id, subject, content, code, sender_id) "
        "SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::jsonb[], %s::smallint[], %s::uuid[]) "
        "RETURNING id::text, create_time",
        ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
         [r[4] for r in rows], [r[5] for r in rows]))
    created = {row[0]: row[1] for row in await cur.fetchall()}
    return [created[r[0]] for r in rows]


async def list_notifications(db: Database, user_id: str, limit: int,
                             after: tuple[datetime, str] | None) -> list[tuple[Any, ...]]:
    """A user's notifications, oldest first, starting after ``(create_time, id)`` when given."""
    if after is None:
        return await db.fetch(
            "SELECT id::text, subject, content, code, sender_id::text, create_time FROM notification "
            "WHERE user_id = %s ORDER BY create_time, id LIMIT %s", (user_id, limit))
    return await db.fetch(
        "SELECT id::text, subject, content, code, sender_id::text, create_time FROM notification "
        "WHERE user_id = %s AND (create_time, id) > (%s, %s::uuid) ORDER BY create_time, id LIMIT %s",
        (user_id, after[0], after[1], limit))


async def delete_notifications(db: Database, user_id: str, ids: Sequence[str]) -> None:
    await db.execute("DELETE FROM notification WHERE user_id = %s AND id = ANY(%s::uuid[])", (user_id, list(ids)))
