"""SQL for persisted token revocations (table nakama_py_session_revocation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import LiteralString, NamedTuple

from nakama_py.db.pool import Database

CHANNEL = "nakama_py_revocation"


class RevocationRow(NamedTuple):
    id: int
    user_id: str
    kind: int  # 0 = every token issued before revoked_at, 1 = one session token, 2 = one refresh token
    token_id: str | None
    revoked_at: datetime
    expires_at: datetime


_COLUMNS: LiteralString = "id, user_id::text, kind, token_id::text, revoked_at, expires_at"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def notify_payload(row: RevocationRow) -> str:
    """The whole revocation, so a listening process applies it at once, without a round trip to fetch it."""
    revocation_id, user_id, kind, token_id, revoked_at, expires_at = row
    return (f"{revocation_id}|{user_id}|{kind}|{token_id or ''}"
            f"|{(revoked_at - _EPOCH) // _MICROSECOND}|{(expires_at - _EPOCH) // _MICROSECOND}")


def parse_payload(payload: str) -> RevocationRow | int | None:
    """A revocation from ``notify_payload``; a bare id (older senders) to fetch; None when unreadable."""
    parts = payload.split("|")
    try:
        if len(parts) == 1:
            return int(parts[0])
        revocation_id, user_id, kind, token_id, revoked_us, expires_us = parts
        return RevocationRow(int(revocation_id), user_id, int(kind), token_id or None,
                             _EPOCH + int(revoked_us) * _MICROSECOND, _EPOCH + int(expires_us) * _MICROSECOND)
    except ValueError:
        return None


async def insert_revocations(db: Database, rows: list[tuple[str, int, str | None, datetime]]) -> list[RevocationRow]:
    """Store revocations ``(user_id, kind, token_id, expires_at)`` and tell every process, atomically."""
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
            await conn.execute("SELECT pg_notify(%(channel)s, %(payload)s)",
                               {"channel": CHANNEL, "payload": notify_payload(stored[-1])})
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
