"""SQL of wallets (``users.wallet``) and their ledger (``wallet_ledger``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from nakama_py.db.pool import Database


async def lock_wallets(conn: AsyncConnection[Any], user_ids: Sequence[str]) -> dict[str, Any]:
    """The wallets of these users, row-locked for the rest of the transaction (in id order, against deadlocks)."""
    cur = await conn.execute(
        "SELECT id::text, wallet FROM users WHERE id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE",
        (sorted(set(user_ids)),))
    return {row[0]: row[1] for row in await cur.fetchall()}


async def write_wallets(conn: AsyncConnection[Any], wallets: Sequence[tuple[str, str]]) -> None:
    """``(user_id, wallet JSON)`` pairs, written in one statement."""
    ordered = sorted(wallets)
    await conn.execute(
        "UPDATE users AS u SET wallet = w.wallet, update_time = now() "
        "FROM unnest(%s::uuid[], %s::jsonb[]) AS w(id, wallet) WHERE u.id = w.id",
        ([user_id for user_id, _ in ordered], [wallet for _, wallet in ordered]))


async def insert_ledger(conn: AsyncConnection[Any], rows: Sequence[tuple[str, str, str, str]]) -> None:
    """``(id, user_id, changeset JSON, metadata JSON)`` rows, in one statement."""
    await conn.execute(
        "INSERT INTO wallet_ledger (id, user_id, changeset, metadata) "
        "SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::jsonb[], %s::jsonb[])",
        ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]))


async def list_ledger(db: Database, user_id: str, limit: int,
                      after: tuple[datetime, str] | None) -> list[tuple[Any, ...]]:
    """Ledger rows of a user, newest first, starting after ``(create_time, id)`` when given."""
    if after is None:
        return await db.fetch(
            "SELECT id::text, changeset, metadata, create_time, update_time FROM wallet_ledger "
            "WHERE user_id = %s ORDER BY create_time DESC, id DESC LIMIT %s", (user_id, limit))
    return await db.fetch(
        "SELECT id::text, changeset, metadata, create_time, update_time FROM wallet_ledger "
        "WHERE user_id = %s AND (create_time, id) < (%s, %s::uuid) "
        "ORDER BY create_time DESC, id DESC LIMIT %s", (user_id, after[0], after[1], limit))
