"""SQL of wallets (``users.wallet``) and their ledger (``wallet_ledger``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from nakama_py.db.errors import map_errors
from nakama_py.db.pool import Connection, Database


class LedgerEntry(NamedTuple):
    """A ledger row to insert."""

    id: str
    user_id: str
    changeset: str  # JSON
    metadata: str  # JSON


class LedgerRow(NamedTuple):
    id: str
    changeset: dict[str, int]
    metadata: dict[str, Any]
    create_time: datetime
    update_time: datetime


async def lock_wallets(conn: Connection, user_ids: Sequence[str]) -> dict[str, Any]:
    """The wallets of these users, row-locked for the rest of the transaction (in id order, against deadlocks)."""
    with map_errors():
        cur = await conn.execute(
            "SELECT id::text, wallet FROM users WHERE id = ANY(%(user_ids)s::uuid[]) ORDER BY id FOR UPDATE",
            {"user_ids": sorted(set(user_ids))})
        return {user_id: wallet for user_id, wallet in await cur.fetchall()}


async def write_wallets(conn: Connection, wallets: Sequence[tuple[str, str]]) -> None:
    """``(user_id, wallet JSON)`` pairs, written in one statement."""
    ordered = sorted(wallets)
    with map_errors():
        await conn.execute(
            "UPDATE users AS u SET wallet = w.wallet, update_time = now() "
            "FROM unnest(%(user_ids)s::uuid[], %(wallets)s::jsonb[]) AS w(id, wallet) WHERE u.id = w.id",
            {"user_ids": [user_id for user_id, _ in ordered], "wallets": [wallet for _, wallet in ordered]})


async def insert_ledger(conn: Connection, rows: Sequence[LedgerEntry]) -> None:
    """Ledger rows, in one statement."""
    with map_errors():
        await conn.execute(
            "INSERT INTO wallet_ledger (id, user_id, changeset, metadata) "
            "SELECT * FROM unnest(%(ids)s::uuid[], %(user_ids)s::uuid[], %(changesets)s::jsonb[],"
            " %(metadata)s::jsonb[])",
            {"ids": [r.id for r in rows], "user_ids": [r.user_id for r in rows],
             "changesets": [r.changeset for r in rows], "metadata": [r.metadata for r in rows]})


async def list_ledger(db: Database, user_id: str, limit: int,
                      after: tuple[datetime, str] | None) -> list[LedgerRow]:
    """Ledger rows of a user, newest first, starting after ``(create_time, id)`` when given."""
    if after is None:
        return await db.fetch_as(
            LedgerRow._make, "SELECT id::text, changeset, metadata, create_time, update_time FROM wallet_ledger "
            "WHERE user_id = %(user_id)s ORDER BY create_time DESC, id DESC LIMIT %(limit)s",
            {"user_id": user_id, "limit": limit})
    return await db.fetch_as(
        LedgerRow._make, "SELECT id::text, changeset, metadata, create_time, update_time FROM wallet_ledger "
        "WHERE user_id = %(user_id)s AND (create_time, id) < (%(create_time)s, %(id)s::uuid) "
        "ORDER BY create_time DESC, id DESC LIMIT %(limit)s",
        {"user_id": user_id, "create_time": after[0], "id": after[1], "limit": limit})
