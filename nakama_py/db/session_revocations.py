"""SQL for persisted token revocations (table nakama_py_session_revocation)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nakama_py.db.pool import Database

# kind: 0 = every token issued before revoked_at, 1 = one session token, 2 = one refresh token
RevocationRow = tuple[int, str, int, str | None, datetime, datetime]


async def insert_revocations(db: Database, rows: list[tuple[str, int, str | None, datetime]]) -> list[RevocationRow]:
    """Store revocations ``(user_id, kind, token_id, expires_at)``, all or none."""
    if not rows:
        return []
    async with db.transaction() as conn:
        stored: list[RevocationRow] = []
        for user_id, kind, token_id, expires_at in rows:
            cur = await conn.execute(
                "INSERT INTO nakama_py_session_revocation (user_id, kind, token_id, expires_at)"
                " VALUES (%s, %s, %s, %s)"
                " RETURNING id, user_id::text, kind, token_id::text, revoked_at, expires_at",
                (user_id, kind, token_id, expires_at),
            )
            row = await cur.fetchone()
            assert row is not None
            stored.append((row[0], row[1], row[2], row[3], row[4], row[5]))
        return stored


async def revocation_by_id(db: Database, revocation_id: int) -> RevocationRow | None:
    row = await db.fetchrow(
        "SELECT id, user_id::text, kind, token_id::text, revoked_at, expires_at"
        " FROM nakama_py_session_revocation WHERE id = %s", (revocation_id,))
    return None if row is None else (row[0], row[1], row[2], row[3], row[4], row[5])


async def live_revocations(db: Database) -> list[RevocationRow]:
    rows: list[Any] = await db.fetch(
        "SELECT id, user_id::text, kind, token_id::text, revoked_at, expires_at"
        " FROM nakama_py_session_revocation WHERE expires_at > now() ORDER BY id")
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


async def delete_expired(db: Database, batch: int = 5000) -> int:
    return await db.execute(
        "DELETE FROM nakama_py_session_revocation WHERE id IN ("
        " SELECT id FROM nakama_py_session_revocation WHERE expires_at <= now() LIMIT %s)", (batch,))
