"""SQL of tournaments: boards in Nakama's ``leaderboard`` table with a duration, and their records.

A tournament write runs in one transaction: the owner's record of the period is locked
(FOR UPDATE), so the attempt count and the size check see every concurrent write of
that owner in order, whichever process made it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, LiteralString, NamedTuple

from nakama_py.db.leaderboards import (
    BOARD_COLS,
    WRITE_RETURNING,
    BoardRow,
    WrittenRow,
    board_row,
    insert_values,
    update_clause,
)
from nakama_py.db.pool import Connection, Database, row_factory
from nakama_py.leaderboard_enums import Operator


class Attempts(NamedTuple):
    num_score: int
    max_num_score: int


class DeletedAttempt(NamedTuple):
    num_score: int
    create_time: datetime


class TournamentWrite(NamedTuple):
    """One attempt, as the write statement takes it (field names are its parameters)."""

    board_id: str
    owner_id: str
    username: str | None
    score: int
    subscore: int
    metadata: str | None  # JSON object text; None keeps the record's
    expiry: datetime
    max_num_score: int


async def insert_tournament(db: Database, values: dict[str, Any]) -> tuple[BoardRow, bool]:
    """Create unless the id exists; (the stored board, whether this call created it)."""
    row = await db.fetchrow_as(
        board_row,
        "INSERT INTO leaderboard (id, authoritative, sort_order, operator, reset_schedule, metadata, category,"
        " description, duration, end_time, max_size, max_num_score, title, start_time, join_required, enable_ranks)"
        " VALUES (%(id)s, %(authoritative)s, %(sort_order)s, %(operator)s, %(reset)s, %(metadata)s::jsonb,"
        " %(category)s, %(description)s, %(duration)s, to_timestamp(%(end)s), %(max_size)s, %(max_num_score)s,"
        " %(title)s, to_timestamp(%(start)s), %(join_required)s, %(enable_ranks)s)"
        " ON CONFLICT (id) DO NOTHING RETURNING " + BOARD_COLS, values)
    if row is not None:
        return row, True
    existing = await db.fetchrow_as(board_row, "SELECT " + BOARD_COLS + " FROM leaderboard WHERE id = %(id)s",
                                    {"id": values["id"]})
    if existing is None:
        return await insert_tournament(db, values)  # deleted between the two statements
    return existing, False


async def sizes(db: Database, ids: list[str]) -> dict[str, int]:
    rows = await db.fetch("SELECT id, size FROM leaderboard WHERE id = ANY(%(ids)s)", {"ids": ids})
    return {row[0]: int(row[1]) for row in rows}


async def lock_record(conn: Connection, board_id: str, owner_id: str, expiry: datetime) -> Attempts | None:
    """The owner's record's attempts in the period, locked; None without one."""
    async with conn.cursor(row_factory=row_factory(Attempts._make)) as cur:
        await cur.execute(
            "SELECT num_score, max_num_score FROM leaderboard_record WHERE leaderboard_id = %(board_id)s"
            " AND owner_id = %(owner_id)s AND expiry_time = %(expiry)s FOR UPDATE",
            {"board_id": board_id, "owner_id": owner_id, "expiry": expiry})
        return await cur.fetchone()


async def take_place(conn: Connection, board_id: str) -> bool:
    """Count one more participant; False when the tournament is full."""
    cur = await conn.execute("UPDATE leaderboard SET size = size + 1 WHERE id = %(board_id)s AND size < max_size",
                             {"board_id": board_id})
    return cur.rowcount == 1


async def join(conn: Connection, board_id: str, owner_id: str, expiry: datetime, username: str | None,
               max_num_score: int) -> WrittenRow | None:
    """An empty record (no attempt yet) for a join-required tournament; None when there was one."""
    async with conn.cursor(row_factory=row_factory(WrittenRow._make)) as cur:
        await cur.execute(
            "INSERT INTO leaderboard_record (leaderboard_id, owner_id, expiry_time, username, num_score,"
            " max_num_score) VALUES (%(board_id)s, %(owner_id)s, %(expiry)s, %(username)s, 0, %(max_num_score)s)"
            " ON CONFLICT (owner_id, leaderboard_id, expiry_time) DO NOTHING RETURNING " + WRITE_RETURNING,
            {"board_id": board_id, "owner_id": owner_id, "expiry": expiry, "username": username,
             "max_num_score": max_num_score})
        return await cur.fetchone()


def _write_sql(operator: Operator, desc: bool) -> LiteralString:
    # Every attempt counts (num_score + 1), whether or not it improves the record.
    return ("INSERT INTO leaderboard_record AS lr (leaderboard_id, owner_id, username, score, subscore, metadata,"
            " expiry_time, max_num_score) VALUES (%(board_id)s, %(owner_id)s, %(username)s, "
            + insert_values(operator) +
            ", COALESCE(%(metadata)s::jsonb, '{}'::jsonb), %(expiry)s, %(max_num_score)s)"
            " ON CONFLICT (owner_id, leaderboard_id, expiry_time) DO UPDATE SET " + update_clause(operator, desc) +
            ", num_score = lr.num_score + 1, metadata = COALESCE(%(metadata)s::jsonb, lr.metadata),"
            " username = COALESCE(%(username)s, lr.username), update_time = now() RETURNING " + WRITE_RETURNING)


async def write(conn: Connection, operator: Operator, desc: bool, write: TournamentWrite) -> WrittenRow:
    async with conn.cursor(row_factory=row_factory(WrittenRow._make)) as cur:
        await cur.execute(_write_sql(operator, desc), write._asdict())
        row = await cur.fetchone()
    assert row is not None  # an upsert without a filter always returns its row
    return row


async def delete_record(conn: Connection, board_id: str, owner_id: str, expiry: datetime) -> DeletedAttempt | None:
    """Delete the owner's record of the period; its num_score and create_time when there was one."""
    async with conn.cursor(row_factory=row_factory(DeletedAttempt._make)) as cur:
        await cur.execute(
            "DELETE FROM leaderboard_record WHERE leaderboard_id = %(board_id)s AND owner_id = %(owner_id)s"
            " AND expiry_time = %(expiry)s RETURNING num_score, create_time",
            {"board_id": board_id, "owner_id": owner_id, "expiry": expiry})
        return await cur.fetchone()


async def release_place(conn: Connection, board_id: str) -> None:
    await conn.execute("UPDATE leaderboard SET size = size - 1 WHERE id = %(board_id)s AND size > 0",
                       {"board_id": board_id})


async def add_attempts(db: Database, board_id: str, owner_id: str, expiry: datetime, count: int) -> None:
    await db.execute("UPDATE leaderboard_record SET max_num_score = max_num_score + %(count)s"
                     " WHERE leaderboard_id = %(board_id)s AND owner_id = %(owner_id)s AND expiry_time = %(expiry)s",
                     {"count": count, "board_id": board_id, "owner_id": owner_id, "expiry": expiry})
