"""SQL for persisted token revocations (table nakama_py_session_revocation)."""

from __future__ import annotations

from datetime import datetime
from typing import LiteralString, NamedTuple

from nakama_py.db.pool import Database


class RevocationRow(NamedTuple):
    id: int
    user_id: str
    kind: int  # 0 = every token issued before revoked_at, 1 = one session token, 2 = one refresh token
    token_id: str | None
    revoked_at: datetime
    expires_at: datetime


_COLUMNS: LiteralString = "id, user_id::text, kind, token_id::text, revoked_at, expires_at"


async def insert_revocations(db: Database, rows: list[tuple[str, int, str | None, datetime]]) -> list[RevocationRow]:
    """Store revocations ``(user_id, kind, token_id, expires_at)``, all or none."""
    if not rows:
        return []
    async with db.transaction() as conn:
        stored: list[RevocationRow] = []
        for user_id, kind, token_id, expires_at in rows:
            cur = await conn.execute(
                "INSERT INTO nakama_py_session_revocation (user_id, kind, token_id, expires_at)"
                " VALUES (%(user_id)s, %(kind)s, %(token_id)s, %(expires_at)s) RETURNING " + _COLUMNS,
                {"user_id": user_id, "kind": kind, "token_id": token_id, "expires_at": expires_at},
            )
            row = await cur.fetchone()
            assert row is not None
            stored.append(RevocationRow._make(row))
        return stored


async def revocation_by_id(db: Database, revocation_id: int) -> RevocationRow | None:
    return await db.fetchrow_as(RevocationRow._make, "SELECT " + _COLUMNS + " FROM nakama_py_session_revocation"
                                " WHERE id = %(id)s", {"id": revocation_id})


async def live_revocations(db: Database) -> list[RevocationRow]:
    return await db.fetch_as(RevocationRow._make, "SELECT " + _COLUMNS + " FROM nakama_py_session_revocation"
                             " WHERE expires_at > now() ORDER BY id")


async def delete_expired(db: Database, batch: int = 5000) -> int:
    return await db.execute(
        "DELETE FROM nakama_py_session_revocation WHERE id IN ("
        " SELECT id FROM nakama_py_session_revocation WHERE expires_at <= now() LIMIT %(batch)s)", {"batch": batch})
