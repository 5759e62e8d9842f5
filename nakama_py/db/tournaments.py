"""SQL of tournaments: boards in Nakama's ``leaderboard`` table with a duration, and their records.

A tournament write runs in one transaction: the owner's record of the period is locked
(FOR UPDATE), so the attempt count and the size check see every concurrent write of
that owner in order, whichever process made it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, LiteralString

from psycopg import AsyncConnection

from nakama_py.db.leaderboards import BOARD_COLS, WRITE_RETURNING, BoardRow, insert_values, update_clause
from nakama_py.db.pool import Database

Conn = AsyncConnection[Any]


async def insert_tournament(db: Database, values: dict[str, Any]) -> tuple[BoardRow, bool]:
    """Create unless the id exists; (the stored board, whether this call created it)."""
    row = await db.fetchrow(
        "INSERT INTO leaderboard (id, authoritative, sort_order, operator, reset_schedule, metadata, category,"
        " description, duration, end_time, max_size, max_num_score, title, start_time, join_required, enable_ranks)"
        " VALUES (%(id)s, %(authoritative)s, %(sort_order)s, %(operator)s, %(reset)s, %(metadata)s::jsonb,"
        " %(category)s, %(description)s, %(duration)s, to_timestamp(%(end)s), %(max_size)s, %(max_num_score)s,"
        " %(title)s, to_timestamp(%(start)s), %(join_required)s, %(enable_ranks)s)"
        " ON CONFLICT (id) DO NOTHING RETURNING " + BOARD_COLS, values)
    if row is not None:
        return row, True
    existing = await db.fetchrow("SELECT " + BOARD_COLS + " FROM leaderboard WHERE id = %s", (values["id"],))
    if existing is None:
        return await insert_tournament(db, values)  # deleted between the two statements
    return existing, False


async def sizes(db: Database, ids: list[str]) -> dict[str, int]:
    rows = await db.fetch("SELECT id, size FROM leaderboard WHERE id = ANY(%s)", (ids,))
    return {row[0]: int(row[1]) for row in rows}


async def lock_record(conn: Conn, board_id: str, owner_id: str, expiry: datetime) -> tuple[int, int] | None:
    """(num_score, max_num_score) of the owner's record in the period, locked; None without one."""
    cur = await conn.execute(
        "SELECT num_score, max_num_score FROM leaderboard_record WHERE leaderboard_id = %s AND owner_id = %s"
        " AND expiry_time = %s FOR UPDATE", (board_id, owner_id, expiry))
    row = await cur.fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


async def take_place(conn: Conn, board_id: str) -> bool:
    """Count one more participant; False when the tournament is full."""
    cur = await conn.execute("UPDATE leaderboard SET size = size + 1 WHERE id = %s AND size < max_size", (board_id,))
    return cur.rowcount == 1


async def join(conn: Conn, board_id: str, owner_id: str, expiry: datetime, username: str | None,
               max_num_score: int) -> tuple[Any, ...] | None:
    """An empty record (no attempt yet) for a join-required tournament; None when there was one."""
    cur = await conn.execute(
        "INSERT INTO leaderboard_record (leaderboard_id, owner_id, expiry_time, username, num_score, max_num_score)"
        " VALUES (%s, %s, %s, %s, 0, %s) ON CONFLICT (owner_id, leaderboard_id, expiry_time) DO NOTHING"
        " RETURNING " + WRITE_RETURNING, (board_id, owner_id, expiry, username, max_num_score))
    row: tuple[Any, ...] | None = await cur.fetchone()
    return row


def _write_sql(operator: int, desc: bool) -> LiteralString:
    # Every attempt counts (num_score + 1), whether or not it improves the record.
    return ("INSERT INTO leaderboard_record AS lr (leaderboard_id, owner_id, username, score, subscore, metadata,"
            " expiry_time, max_num_score) VALUES (%(b)s, %(o)s, %(u)s, " + insert_values(operator) +
            ", COALESCE(%(m)s::jsonb, '{}'::jsonb), %(e)s, %(mx)s)"
            " ON CONFLICT (owner_id, leaderboard_id, expiry_time) DO UPDATE SET " + update_clause(operator, desc) +
            ", num_score = lr.num_score + 1, metadata = COALESCE(%(m)s::jsonb, lr.metadata),"
            " username = COALESCE(%(u)s, lr.username), update_time = now() RETURNING " + WRITE_RETURNING)


async def write(conn: Conn, operator: int, desc: bool, params: dict[str, Any]) -> tuple[Any, ...]:
    cur = await conn.execute(_write_sql(operator, desc), params)
    row: tuple[Any, ...] | None = await cur.fetchone()
    assert row is not None  # an upsert without a filter always returns its row
    return row


async def delete_record(conn: Conn, board_id: str, owner_id: str, expiry: datetime) -> tuple[int, datetime] | None:
    """Delete the owner's record of the period; (its num_score, its create_time) when there was one."""
    cur = await conn.execute("DELETE FROM leaderboard_record WHERE leaderboard_id = %s AND owner_id = %s"
                             " AND expiry_time = %s RETURNING num_score, create_time", (board_id, owner_id, expiry))
    row = await cur.fetchone()
    return None if row is None else (int(row[0]), row[1])


async def release_place(conn: Conn, board_id: str) -> None:
    await conn.execute("UPDATE leaderboard SET size = size - 1 WHERE id = %s AND size > 0", (board_id,))


async def add_attempts(db: Database, board_id: str, owner_id: str, expiry: datetime, count: int) -> None:
    await db.execute("UPDATE leaderboard_record SET max_num_score = max_num_score + %s WHERE leaderboard_id = %s"
                     " AND owner_id = %s AND expiry_time = %s", (count, board_id, owner_id, expiry))
