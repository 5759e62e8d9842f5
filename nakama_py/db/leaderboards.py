"""SQL for leaderboards: boards, records, idempotency receipts and reset claims.

Records keep Nakama's table and its single-statement upsert per operator
(nakama-wire.md §6.2): ``INSERT ... ON CONFLICT (owner_id, leaderboard_id,
expiry_time) DO UPDATE SET <op> ... WHERE <filter>``; a filter that fails changes
nothing and returns no row, and the caller reads the record as it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, LiteralString

from psycopg import AsyncConnection

from nakama_py.core.leaderboard_types import BEST, DECREMENT, INCREMENT, SET
from nakama_py.db.pool import Database

# --- boards -------------------------------------------------------------------------

BOARD_COLS: LiteralString = ("id, authoritative, sort_order, operator, reset_schedule, metadata::text, create_time,"
                             " COALESCE(enable_ranks, true)")
BoardRow = tuple[Any, ...]  # id, authoritative, sort_order, operator, reset_schedule, metadata, create_time, ranks


async def all_boards(db: Database) -> list[BoardRow]:
    """Every leaderboard (tournaments excluded: nakama-py has none of its own)."""
    rows = await db.fetch(
        "SELECT " + BOARD_COLS + " FROM leaderboard WHERE duration = 0 ORDER BY create_time, id")
    return rows


async def boards_by_id(db: Database, ids: list[str]) -> list[BoardRow]:
    rows = await db.fetch(
        "SELECT " + BOARD_COLS + " FROM leaderboard WHERE id = ANY(%s) AND duration = 0", (ids,))
    return rows


async def board_page(db: Database, limit: int, after: tuple[int, str] | None) -> list[BoardRow]:
    """Boards in (create_time, id) order, after a (create time in microseconds, id) position."""
    if after is None:
        rows = await db.fetch(
            "SELECT " + BOARD_COLS + " FROM leaderboard WHERE duration = 0 ORDER BY create_time, id LIMIT %s",
            (limit,))
    else:
        rows = await db.fetch(
            "SELECT " + BOARD_COLS + " FROM leaderboard WHERE duration = 0"
            " AND (create_time, id) > ('epoch'::timestamptz + %s * interval '1 microsecond', %s)"
            " ORDER BY create_time, id LIMIT %s", (after[0], after[1], limit))
    return rows


async def insert_board(db: Database, board_id: str, authoritative: bool, sort_order: int, operator: int,
                       reset_schedule: str | None, metadata: str, enable_ranks: bool) -> tuple[BoardRow, bool]:
    """Create a board unless one exists; (the stored board, whether this call created it)."""
    row = await db.fetchrow(
        "INSERT INTO leaderboard (id, authoritative, sort_order, operator, reset_schedule, metadata, enable_ranks)"
        " VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s) ON CONFLICT (id) DO NOTHING RETURNING " + BOARD_COLS,
        (board_id, authoritative, sort_order, operator, reset_schedule, metadata, enable_ranks))
    if row is not None:
        return row, True
    existing = await boards_by_id(db, [board_id])
    if not existing:  # deleted between the two statements: try once more
        return await insert_board(db, board_id, authoritative, sort_order, operator, reset_schedule, metadata,
                                  enable_ranks)
    return existing[0], False


async def delete_board(db: Database, board_id: str, batch: int) -> bool:
    """Delete a board's records in batches, then the board (the cascade sweeps up stragglers)."""
    while await db.execute(
            "DELETE FROM leaderboard_record WHERE ctid = ANY(ARRAY("
            " SELECT ctid FROM leaderboard_record WHERE leaderboard_id = %s LIMIT %s))", (board_id, batch)) >= batch:
        pass
    return await db.execute("DELETE FROM leaderboard WHERE id = %s", (board_id,)) > 0


async def disable_ranks(db: Database, board_id: str) -> None:
    await db.execute("UPDATE leaderboard SET enable_ranks = false WHERE id = %s", (board_id,))


# --- records ------------------------------------------------------------------------

# A record as the core reads it; the owner comes first so pages can be keyed by it.
RECORD_COLS: LiteralString = ("owner_id::text, username, score, subscore, num_score, max_num_score, metadata::text,"
                              " create_time, update_time")
RecordRow = tuple[Any, ...]
WRITE_RETURNING: LiteralString = ("username, score, subscore, num_score, max_num_score, metadata::text, create_time,"
                                  " update_time")
WrittenRow = tuple[Any, ...]

_INSERT_VALUES: dict[int, LiteralString] = {
    BEST: "%(s)s, %(ss)s", SET: "%(s)s, %(ss)s", INCREMENT: "%(s)s, %(ss)s", DECREMENT: "0, 0"}
_UPDATE: dict[tuple[int, bool], tuple[LiteralString, LiteralString]] = {
    (BEST, True): ("score = GREATEST(lr.score, %(s)s), subscore = GREATEST(lr.subscore, %(ss)s)",
                   "lr.score < %(s)s OR lr.subscore < %(ss)s"),
    (BEST, False): ("score = LEAST(lr.score, %(s)s), subscore = LEAST(lr.subscore, %(ss)s)",
                    "lr.score > %(s)s OR lr.subscore > %(ss)s"),
    (SET, True): ("score = %(s)s, subscore = %(ss)s", "lr.score <> %(s)s OR lr.subscore <> %(ss)s"),
    (INCREMENT, True): ("score = lr.score + %(s)s, subscore = lr.subscore + %(ss)s", "%(s)s <> 0 OR %(ss)s <> 0"),
    (DECREMENT, True): ("score = GREATEST(lr.score - %(s)s, 0), subscore = GREATEST(lr.subscore - %(ss)s, 0)",
                        "%(s)s <> 0 OR %(ss)s <> 0"),
}
for _op in (SET, INCREMENT, DECREMENT):
    _UPDATE[(_op, False)] = _UPDATE[(_op, True)]


def _upsert(operator: int, desc: bool, source: LiteralString) -> LiteralString:
    op, condition = _UPDATE[(operator, desc)]
    return ("INSERT INTO leaderboard_record AS lr"
            " (leaderboard_id, owner_id, username, score, subscore, metadata, expiry_time) "
            + source.replace("$VALUES", _INSERT_VALUES[operator]) +
            " ON CONFLICT (owner_id, leaderboard_id, expiry_time) DO UPDATE SET " + op +
            ", num_score = lr.num_score + 1, metadata = COALESCE(%(m)s::jsonb, lr.metadata),"
            " username = COALESCE(%(u)s, lr.username), update_time = now() WHERE " + condition)


_VALUES: LiteralString = "VALUES (%(b)s, %(o)s, %(u)s, $VALUES, COALESCE(%(m)s::jsonb, '{}'::jsonb), %(e)s)"
UPSERT_SQL: dict[tuple[int, bool], LiteralString] = {
    key: _upsert(key[0], key[1], _VALUES) + " RETURNING " + WRITE_RETURNING for key in _UPDATE}


async def upsert_record(db: Database, operator: int, desc: bool, params: dict[str, Any]) -> WrittenRow | None:
    """The record after the write, or None when the operator's filter left it unchanged."""
    row = await db.fetchrow(UPSERT_SQL[(operator, desc)], params)
    return row


async def read_record(db: Database, board_id: str, expiry: datetime, owner_id: str) -> WrittenRow | None:
    row = await db.fetchrow(
        "SELECT " + WRITE_RETURNING + " FROM leaderboard_record"
        " WHERE leaderboard_id = %s AND expiry_time = %s AND owner_id = %s", (board_id, expiry, owner_id))
    return row


async def delete_record(db: Database, board_id: str, expiry: datetime, owner_id: str) -> tuple[int, datetime] | None:
    """Delete one record; (its num_score, its create_time) when there was one."""
    row = await db.fetchrow(
        "DELETE FROM leaderboard_record WHERE leaderboard_id = %s AND expiry_time = %s AND owner_id = %s"
        " RETURNING num_score, create_time", (board_id, expiry, owner_id))
    return None if row is None else (row[0], row[1])


async def delete_owner_records(db: Database, owner_id: str) -> list[tuple[str, datetime, int, datetime]]:
    """Delete every record of an owner; (board, expiry, num_score, create_time) of each."""
    rows = await db.fetch(
        "DELETE FROM leaderboard_record WHERE owner_id = %s RETURNING leaderboard_id, expiry_time, num_score,"
        " create_time", (owner_id,))
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def owner_current_records(db: Database, owner_id: str) -> list[tuple[str, datetime, int, int, int, datetime,
                                                                            str | None]]:
    """(board, expiry, score, subscore, num_score, create_time, username) of each record the owner
    holds in a bucket that has not expired (one scan of owner_id_expiry_time_leaderboard_id_idx)."""
    rows = await db.fetch(
        "SELECT leaderboard_id, expiry_time, score, subscore, num_score, create_time, username"
        " FROM leaderboard_record WHERE owner_id = %s AND (expiry_time = 'epoch' OR expiry_time > now())",
        (owner_id,))
    return [(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]


async def owner_records(db: Database, board_id: str, expiry: datetime, owner_ids: list[str]) -> list[RecordRow]:
    if len(owner_ids) == 1:
        # Equality on every column of the unique key: the planner takes that index even before the
        # table is analyzed (with ANY it may walk the whole bucket on the primary key instead).
        return await db.fetch(
            "SELECT " + RECORD_COLS + " FROM leaderboard_record"
            " WHERE leaderboard_id = %s AND expiry_time = %s AND owner_id = %s::uuid", (board_id, expiry, owner_ids[0]))
    rows = await db.fetch(
        "SELECT " + RECORD_COLS + " FROM leaderboard_record"
        " WHERE leaderboard_id = %s AND expiry_time = %s AND owner_id = ANY(%s::uuid[])",
        (board_id, expiry, owner_ids))
    return rows


_PAGE: LiteralString = ("SELECT " + RECORD_COLS
                        + " FROM leaderboard_record WHERE leaderboard_id = %s AND expiry_time = %s")
# Qualified names: a bare owner_id would sort by the selected owner_id::text, which no index holds.
_ASC: LiteralString = (" ORDER BY leaderboard_record.score ASC, leaderboard_record.subscore ASC,"
                       " leaderboard_record.owner_id ASC LIMIT %s")
_DESC: LiteralString = (" ORDER BY leaderboard_record.score DESC, leaderboard_record.subscore DESC,"
                        " leaderboard_record.owner_id DESC LIMIT %s")
_AFTER: LiteralString = " AND (leaderboard_id, expiry_time, score, subscore, owner_id) > (%s, %s, %s, %s, %s::uuid)"
_BEFORE: LiteralString = " AND (leaderboard_id, expiry_time, score, subscore, owner_id) < (%s, %s, %s, %s, %s::uuid)"


async def record_page(db: Database, board_id: str, expiry: datetime, limit: int, ascending: bool,
                      after: tuple[int, int, str] | None) -> list[RecordRow]:
    """Up to ``limit`` records in ascending (or descending) key order, past a (score, subscore, owner)."""
    if after is None:
        rows = await db.fetch(_PAGE + (_ASC if ascending else _DESC), (board_id, expiry, limit))
    else:
        query: LiteralString = _PAGE + (_AFTER + _ASC if ascending else _BEFORE + _DESC)
        rows = await db.fetch(query, (board_id, expiry, board_id, expiry, *after, limit))
    return rows


async def bucket_batch(conn: AsyncConnection[Any], board_id: str, expiry: datetime, limit: int,
                       after: tuple[int, int, str] | None) -> list[tuple[Any, ...]]:
    """A batch of a bucket for loading ranks, in key order: (owner bytes, score, subscore,
    create time in microseconds, num_score, username)."""
    cols: LiteralString = ("SELECT uuid_send(owner_id), score, subscore,"
                           " (EXTRACT(EPOCH FROM create_time) * 1000000)::bigint, num_score, username"
                           " FROM leaderboard_record WHERE leaderboard_id = %s AND expiry_time = %s")
    order: LiteralString = " ORDER BY score, subscore, owner_id LIMIT %s"
    if after is None:
        cur = await conn.execute(cols + order, (board_id, expiry, limit), binary=True)
    else:
        cur = await conn.execute(
            cols + " AND (score, subscore, owner_id) > (%s, %s, %s::uuid)" + order,
            (board_id, expiry, after[0], after[1], after[2], limit), binary=True)
    return await cur.fetchall()


async def delete_bucket_batch(db: Database, board_id: str, before: datetime, batch: int) -> list[datetime]:
    """Delete up to ``batch`` records of buckets that expired before ``before`` (never the
    no-reset bucket); the expiry of each deleted record."""
    rows = await db.fetch(
        "DELETE FROM leaderboard_record WHERE ctid = ANY(ARRAY("
        " SELECT ctid FROM leaderboard_record WHERE leaderboard_id = %s"
        " AND expiry_time > 'epoch'::timestamptz AND expiry_time < %s LIMIT %s)) RETURNING expiry_time",
        (board_id, before, batch))
    return [r[0] for r in rows]


# --- idempotent writes ----------------------------------------------------------------

RECEIPT_COLS: LiteralString = ("create_time, expiry_time, submitted_score, submitted_subscore, updated, rank, username,"
                               " score, subscore, num_score, max_num_score, metadata::text, record_create_time,"
                               " record_update_time")
ReceiptRow = tuple[Any, ...]
# kind: 0 written now, 1 replay of a live receipt, 2 rate limited (retry_after filled), none: retry
ONCE_WRITTEN, ONCE_REPLAY, ONCE_LIMITED = 0, 1, 2

_ONCE_HEAD: LiteralString = """
WITH prior AS (
    SELECT """ + RECEIPT_COLS + """ FROM nakama_py_leaderboard_receipt
    WHERE leaderboard_id = %(b)s AND owner_id = %(o)s AND idempotency_key = %(k)s AND expire_time > now()
), recent AS (
    SELECT create_time FROM nakama_py_leaderboard_receipt
    WHERE %(rate_n)s::int IS NOT NULL AND leaderboard_id = %(b)s AND owner_id = %(o)s
      AND create_time > now() - make_interval(secs => %(rate_window)s::float8)
    ORDER BY create_time DESC LIMIT %(rate_n)s::int
), gate AS (
    SELECT NOT EXISTS (SELECT 1 FROM prior)
       AND (%(rate_n)s::int IS NULL OR (SELECT count(*) FROM recent) < %(rate_n)s::int) AS open
), old AS (
    SELECT """ + WRITE_RETURNING + """ FROM leaderboard_record
    WHERE leaderboard_id = %(b)s AND expiry_time = %(e)s AND owner_id = %(o)s
), up AS (
"""
_ONCE_SOURCE: LiteralString = ("SELECT %(b)s, %(o)s::uuid, %(u)s, $VALUES, COALESCE(%(m)s::jsonb, '{}'::jsonb), %(e)s"
                               " FROM gate WHERE gate.open")


def _once_tail(desc: bool) -> LiteralString:
    better: LiteralString = ">" if desc else "<"
    return """ RETURNING """ + WRITE_RETURNING + """
), result AS (
    SELECT true AS updated, up.* FROM up
    UNION ALL
    SELECT false, old.* FROM old, gate WHERE gate.open AND NOT EXISTS (SELECT 1 FROM up)
), ins AS (
    INSERT INTO nakama_py_leaderboard_receipt (leaderboard_id, owner_id, idempotency_key, expire_time, expiry_time,
        submitted_score, submitted_subscore, updated, rank, username, score, subscore, num_score, max_num_score,
        metadata, record_create_time, record_update_time)
    SELECT %(b)s, %(o)s, %(k)s, now() + make_interval(secs => %(keep)s::float8), %(e)s, %(s)s, %(ss)s, r.updated,
        CASE WHEN NOT %(ranked)s THEN 0
             WHEN r.score = %(ps)s AND r.subscore = %(pss)s THEN %(pr)s
             ELSE (SELECT count(*) + 1 FROM leaderboard_record x
                   WHERE x.leaderboard_id = %(b)s AND x.expiry_time = %(e)s AND x.owner_id <> %(o)s::uuid
                     AND (x.score, x.subscore, x.owner_id) """ + better + """ (r.score, r.subscore, %(o)s::uuid))
        END,
        r.username, r.score, r.subscore, r.num_score, r.max_num_score, r.metadata::jsonb, r.create_time,
        r.update_time
    FROM result r
    RETURNING """ + RECEIPT_COLS + """
)
SELECT 0, """ + RECEIPT_COLS + """, NULL::float8 FROM ins
UNION ALL
SELECT 1, """ + RECEIPT_COLS + """, NULL::float8 FROM prior
UNION ALL
SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    EXTRACT(EPOCH FROM (SELECT min(create_time) FROM recent)
            + make_interval(secs => %(rate_window)s::float8) - now())::float8
WHERE NOT EXISTS (SELECT 1 FROM prior) AND NOT (SELECT open FROM gate)
"""


WRITE_ONCE_SQL: dict[tuple[int, bool], LiteralString] = {
    key: _ONCE_HEAD + _upsert(key[0], key[1], _ONCE_SOURCE) + _once_tail(key[1]) for key in _UPDATE}
OnceRow = tuple[Any, ...]


async def write_once(db: Database, operator: int, desc: bool, params: dict[str, Any]) -> OnceRow | None:
    """The whole idempotent write in one statement; its one result row, or None when the
    owner's record changed under the statement in a way it could not account for (retry).
    Concurrent calls share a transaction, taken in (board, owner) order."""
    row = await db.fetchrow_grouped(WRITE_ONCE_SQL[(operator, desc)], params, order=(params["b"], str(params["o"])))
    return row


async def read_receipt(db: Database, board_id: str, owner_id: str, key: str) -> tuple[bool, ReceiptRow] | None:
    """A stored receipt and whether it is still live."""
    row = await db.fetchrow(
        "SELECT expire_time > now(), " + RECEIPT_COLS + " FROM nakama_py_leaderboard_receipt"
        " WHERE leaderboard_id = %s AND owner_id = %s AND idempotency_key = %s", (board_id, owner_id, key))
    return None if row is None else (row[0], row[1:])


async def delete_dead_receipt(db: Database, board_id: str, owner_id: str, key: str) -> None:
    await db.execute(
        "DELETE FROM nakama_py_leaderboard_receipt WHERE leaderboard_id = %s AND owner_id = %s"
        " AND idempotency_key = %s AND expire_time <= now()", (board_id, owner_id, key))


async def purge_receipts(db: Database, batch: int) -> int:
    return await db.execute(
        "DELETE FROM nakama_py_leaderboard_receipt WHERE ctid = ANY(ARRAY("
        " SELECT ctid FROM nakama_py_leaderboard_receipt WHERE expire_time <= now() LIMIT %s))", (batch,))


async def count_receipts(db: Database, board_id: str, expiry: datetime | None) -> int:
    """Live receipts of a board; with ``expiry``, only those of writes into that bucket."""
    if expiry is None:
        value = await db.fetchval(
            "SELECT count(*) FROM nakama_py_leaderboard_receipt WHERE leaderboard_id = %s AND expire_time > now()",
            (board_id,))
    else:
        value = await db.fetchval(
            "SELECT count(*) FROM nakama_py_leaderboard_receipt WHERE leaderboard_id = %s AND expiry_time = %s",
            (board_id, expiry))
    return int(value or 0)


# --- reset claims ------------------------------------------------------------------------


async def last_resets(db: Database) -> dict[str, datetime]:
    """Per board, the latest reset ever claimed."""
    rows = await db.fetch(
        "SELECT leaderboard_id, max(reset_time) FROM nakama_py_leaderboard_reset GROUP BY leaderboard_id")
    return {r[0]: r[1] for r in rows}


async def tracking_since(db: Database) -> datetime | None:
    """When this database started recording resets (the migration that made the table)."""
    value = await db.fetchval("SELECT applied_at FROM nakama_py_migration WHERE id = '0003_leaderboards'")
    return value if isinstance(value, datetime) else None


async def claim_reset(db: Database, board_id: str, reset: datetime, node: str, lease_sec: float) -> int | None:
    """Claim a reset for this process unless it is done or leased to another; the attempt number."""
    return await db.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO nakama_py_leaderboard_reset AS r (leaderboard_id, reset_time, claimed_by, lease_until)"
        " VALUES (%s, %s, %s, now() + make_interval(secs => %s::float8))"
        " ON CONFLICT (leaderboard_id, reset_time) DO UPDATE SET claimed_by = EXCLUDED.claimed_by,"
        " lease_until = EXCLUDED.lease_until, attempts = r.attempts + 1"
        " WHERE r.done_time IS NULL AND r.lease_until < now()"
        " RETURNING attempts", (board_id, reset, node, lease_sec))


async def extend_reset_lease(db: Database, board_id: str, reset: datetime, node: str, lease_sec: float) -> bool:
    return await db.execute(
        "UPDATE nakama_py_leaderboard_reset SET lease_until = now() + make_interval(secs => %s::float8)"
        " WHERE leaderboard_id = %s AND reset_time = %s AND claimed_by = %s AND done_time IS NULL",
        (lease_sec, board_id, reset, node)) > 0


async def finish_reset(db: Database, board_id: str, reset: datetime, node: str, error: str | None) -> bool:
    return await db.execute(
        "UPDATE nakama_py_leaderboard_reset SET done_time = now(), last_error = %s"
        " WHERE leaderboard_id = %s AND reset_time = %s AND claimed_by = %s AND done_time IS NULL",
        (error, board_id, reset, node)) > 0


async def release_reset(db: Database, board_id: str, reset: datetime, node: str, retry_in_sec: float,
                        error: str) -> None:
    """Give a failed claim back, to be retried (by anyone) after ``retry_in_sec``."""
    await db.execute(
        "UPDATE nakama_py_leaderboard_reset SET lease_until = now() + make_interval(secs => %s::float8),"
        " last_error = %s WHERE leaderboard_id = %s AND reset_time = %s AND claimed_by = %s AND done_time IS NULL",
        (retry_in_sec, error, board_id, reset, node))


async def stale_resets(db: Database, limit: int) -> list[tuple[str, datetime]]:
    """Claims not done whose lease ran out: their process died, or their handler failed."""
    rows = await db.fetch(
        "SELECT leaderboard_id, reset_time FROM nakama_py_leaderboard_reset"
        " WHERE done_time IS NULL AND lease_until < now() ORDER BY reset_time LIMIT %s", (limit,))
    return [(r[0], r[1]) for r in rows]
