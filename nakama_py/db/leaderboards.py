"""SQL for leaderboards: boards, records, idempotency receipts and reset claims.

Records keep Nakama's table and its single-statement upsert per operator
(nakama-wire.md §6.2): ``INSERT ... ON CONFLICT (owner_id, leaderboard_id,
expiry_time) DO UPDATE SET <op> ... WHERE <filter>``; a filter that fails changes
nothing and returns no row, and the caller reads the record as it is.

Rows come back as NamedTuples built straight from the driver's values (``_make``), so
pages and rank warm-up build no per-row dict.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString, NamedTuple

from nakama_py.db.pool import Database
from nakama_py.leaderboard_enums import Operator, SortOrder

# --- boards -------------------------------------------------------------------------

BOARD_COLS: LiteralString = ("id, authoritative, sort_order, operator, reset_schedule, metadata::text, create_time,"
                             " COALESCE(enable_ranks, true), duration, extract(epoch FROM start_time)::bigint,"
                             " extract(epoch FROM end_time)::bigint, category, title, description, max_size,"
                             " max_num_score, join_required")


class BoardRow(NamedTuple):
    """A leaderboard or a tournament (duration > 0) as Nakama's ``leaderboard`` table holds it."""

    id: str
    authoritative: bool
    sort_order: SortOrder
    operator: Operator
    reset_schedule: str | None
    metadata: str  # JSON object text
    create_time: datetime
    enable_ranks: bool
    duration: int  # seconds; 0: a plain leaderboard
    start_time: int  # unix seconds
    end_time: int  # unix seconds; 0: never ends
    category: int
    title: str
    description: str
    max_size: int
    max_num_score: int
    join_required: bool


def board_row(values: Sequence[Any]) -> BoardRow:
    (board_id, authoritative, sort_order, operator, reset_schedule, metadata, create_time, enable_ranks,
     duration, start_time, end_time, category, title, description, max_size, max_num_score, join_required) = values
    return BoardRow(board_id, authoritative, SortOrder(sort_order), Operator(operator), reset_schedule or None,
                    metadata, create_time, enable_ranks, int(duration or 0), int(start_time or 0),
                    int(end_time or 0), int(category or 0), title or "", description or "", int(max_size or 0),
                    int(max_num_score or 0), bool(join_required))


_board = board_row


async def all_boards(db: Database) -> list[BoardRow]:
    """Every leaderboard and tournament."""
    return await db.fetch_as(_board, "SELECT " + BOARD_COLS + " FROM leaderboard ORDER BY create_time, id")


async def boards_by_id(db: Database, ids: list[str]) -> list[BoardRow]:
    return await db.fetch_as(_board, "SELECT " + BOARD_COLS + " FROM leaderboard WHERE id = ANY(%(ids)s)",
                             {"ids": ids})


async def board_page(db: Database, limit: int, after: tuple[int, str] | None) -> list[BoardRow]:
    """Boards in (create_time, id) order, after a (create time in microseconds, id) position."""
    if after is None:
        return await db.fetch_as(_board, "SELECT " + BOARD_COLS + " FROM leaderboard WHERE duration = 0"
                                         " ORDER BY create_time, id LIMIT %(limit)s", {"limit": limit})
    return await db.fetch_as(
        _board, "SELECT " + BOARD_COLS + " FROM leaderboard WHERE duration = 0"
        " AND (create_time, id) > ('epoch'::timestamptz + %(create_us)s * interval '1 microsecond', %(id)s)"
        " ORDER BY create_time, id LIMIT %(limit)s", {"create_us": after[0], "id": after[1], "limit": limit})


async def insert_board(db: Database, board_id: str, authoritative: bool, sort_order: SortOrder, operator: Operator,
                       reset_schedule: str | None, metadata: str, enable_ranks: bool) -> tuple[BoardRow, bool]:
    """Create a board unless one exists; (the stored board, whether this call created it)."""
    row = await db.fetchrow_as(
        _board, "INSERT INTO leaderboard (id, authoritative, sort_order, operator, reset_schedule, metadata,"
        " enable_ranks) VALUES (%(id)s, %(authoritative)s, %(sort_order)s, %(operator)s, %(reset_schedule)s,"
        " %(metadata)s::jsonb, %(enable_ranks)s) ON CONFLICT (id) DO NOTHING RETURNING " + BOARD_COLS,
        {"id": board_id, "authoritative": authoritative, "sort_order": int(sort_order), "operator": int(operator),
         "reset_schedule": reset_schedule, "metadata": metadata, "enable_ranks": enable_ranks})
    if row is not None:
        return row, True
    existing = await boards_by_id(db, [board_id])
    if not existing:  # deleted between the two statements: try once more
        return await insert_board(db, board_id, authoritative, sort_order, operator, reset_schedule, metadata,
                                  enable_ranks)
    return existing[0], False


async def delete_board(db: Database, board_id: str, batch: int) -> bool:
    """Delete a board's records in batches, then the board (the cascade sweeps up stragglers)."""
    params = {"board_id": board_id, "batch": batch}
    while await db.execute(
            # (tableoid, ctid): a row's ctid is unique only within its partition.
            "DELETE FROM leaderboard_record r USING (SELECT tableoid AS t, ctid AS c FROM leaderboard_record"
            " WHERE leaderboard_id = %(board_id)s LIMIT %(batch)s) d WHERE r.tableoid = d.t AND r.ctid = d.c",
            params) >= batch:
        pass
    return await db.execute("DELETE FROM leaderboard WHERE id = %(board_id)s", params) > 0


async def disable_ranks(db: Database, board_id: str) -> None:
    await db.execute("UPDATE leaderboard SET enable_ranks = false WHERE id = %(board_id)s", {"board_id": board_id})


# --- records ------------------------------------------------------------------------

# A record as the core reads it; the owner comes first so pages can be keyed by it.
RECORD_COLS: LiteralString = ("owner_id::text, username, score, subscore, num_score, max_num_score, metadata::text,"
                              " create_time, update_time")


class RecordRow(NamedTuple):
    owner_id: str
    username: str | None
    score: int
    subscore: int
    num_score: int
    max_num_score: int
    metadata: str  # JSON object text
    create_time: datetime
    update_time: datetime


WRITE_RETURNING: LiteralString = ("username, score, subscore, num_score, max_num_score, metadata::text, create_time,"
                                  " update_time")


class WrittenRow(NamedTuple):
    """A record as a write returns it (the owner is the writer)."""

    username: str | None
    score: int
    subscore: int
    num_score: int
    max_num_score: int
    metadata: str
    create_time: datetime
    update_time: datetime


class RecordWrite(NamedTuple):
    """One score submission, as the upsert statements take it (field names are their parameters)."""

    board_id: str
    owner_id: str
    username: str | None
    score: int
    subscore: int
    metadata: str | None  # JSON object text; None keeps the record's
    expiry: datetime  # the bucket


class DeletedRecord(NamedTuple):
    leaderboard_id: str
    expiry_time: datetime
    num_score: int
    create_time: datetime


# A record as rank warm-up reads it: (owner as 16 bytes, score, subscore, create time in microseconds,
# num_score, username). A plain tuple, exactly typed, where every other row is a NamedTuple: warm-up
# reads every record of a bucket, and NamedTuple rows doubled its CPU (0.22 -> 0.45 s per 200,000
# records; the collector keeps scanning tuple subclasses, while tuples of scalars drop out of it).
BucketRow = tuple[bytes, int, int, int, int, str | None]


_INSERT_VALUES: dict[Operator, LiteralString] = {
    Operator.BEST: "%(score)s, %(subscore)s", Operator.SET: "%(score)s, %(subscore)s",
    Operator.INCREMENT: "%(score)s, %(subscore)s", Operator.DECREMENT: "0, 0"}
_UPDATE: dict[tuple[Operator, bool], tuple[LiteralString, LiteralString]] = {
    (Operator.BEST, True): ("score = GREATEST(lr.score, %(score)s), subscore = GREATEST(lr.subscore, %(subscore)s)",
                            "lr.score < %(score)s OR lr.subscore < %(subscore)s"),
    (Operator.BEST, False): ("score = LEAST(lr.score, %(score)s), subscore = LEAST(lr.subscore, %(subscore)s)",
                             "lr.score > %(score)s OR lr.subscore > %(subscore)s"),
    (Operator.SET, True): ("score = %(score)s, subscore = %(subscore)s",
                           "lr.score <> %(score)s OR lr.subscore <> %(subscore)s"),
    (Operator.INCREMENT, True): ("score = lr.score + %(score)s, subscore = lr.subscore + %(subscore)s",
                                 "%(score)s <> 0 OR %(subscore)s <> 0"),
    (Operator.DECREMENT, True): ("score = GREATEST(lr.score - %(score)s, 0),"
                                 " subscore = GREATEST(lr.subscore - %(subscore)s, 0)",
                                 "%(score)s <> 0 OR %(subscore)s <> 0"),
}
for _op in (Operator.SET, Operator.INCREMENT, Operator.DECREMENT):
    _UPDATE[(_op, False)] = _UPDATE[(_op, True)]


def insert_values(operator: Operator) -> LiteralString:
    """The score and subscore a first write of ``operator`` stores (decrement starts at 0)."""
    return _INSERT_VALUES[operator]


def update_clause(operator: Operator, desc: bool) -> LiteralString:
    """``score = ..., subscore = ...`` of an upsert with ``operator`` over the stored record ``lr``."""
    return _UPDATE[(operator, desc)][0]


def _upsert(operator: Operator, desc: bool, source: LiteralString) -> LiteralString:
    op, condition = _UPDATE[(operator, desc)]
    return ("INSERT INTO leaderboard_record AS lr"
            " (leaderboard_id, owner_id, username, score, subscore, metadata, expiry_time) "
            + source.replace("$VALUES", _INSERT_VALUES[operator]) +
            " ON CONFLICT (owner_id, leaderboard_id, expiry_time) DO UPDATE SET " + op +
            ", num_score = lr.num_score + 1, metadata = COALESCE(%(metadata)s::jsonb, lr.metadata),"
            " username = COALESCE(%(username)s, lr.username), update_time = now() WHERE " + condition)


_VALUES: LiteralString = ("VALUES (%(board_id)s, %(owner_id)s, %(username)s, $VALUES,"
                          " COALESCE(%(metadata)s::jsonb, '{}'::jsonb), %(expiry)s)")
UPSERT_SQL: dict[tuple[Operator, bool], LiteralString] = {
    key: _upsert(key[0], key[1], _VALUES) + " RETURNING " + WRITE_RETURNING for key in _UPDATE}


async def upsert_record(db: Database, operator: Operator, desc: bool, write: RecordWrite) -> WrittenRow | None:
    """The record after the write, or None when the operator's filter left it unchanged."""
    return await db.fetchrow_as(WrittenRow._make, UPSERT_SQL[(operator, desc)], write._asdict())


_ONE_RECORD: LiteralString = (" WHERE leaderboard_id = %(board_id)s AND expiry_time = %(expiry)s"
                              " AND owner_id = %(owner_id)s")


async def read_record(db: Database, board_id: str, expiry: datetime, owner_id: str) -> WrittenRow | None:
    return await db.fetchrow_as(WrittenRow._make, "SELECT " + WRITE_RETURNING + " FROM leaderboard_record"
                                + _ONE_RECORD, {"board_id": board_id, "expiry": expiry, "owner_id": owner_id})


async def delete_record(db: Database, board_id: str, expiry: datetime, owner_id: str) -> DeletedRecord | None:
    """Delete one record; what it was, when there was one."""
    return await db.fetchrow_as(
        DeletedRecord._make, "DELETE FROM leaderboard_record" + _ONE_RECORD
        + " RETURNING leaderboard_id, expiry_time, num_score, create_time",
        {"board_id": board_id, "expiry": expiry, "owner_id": owner_id})


async def delete_owner_records(db: Database, owner_id: str) -> list[DeletedRecord]:
    """Delete every record of an owner."""
    return await db.fetch_as(
        DeletedRecord._make, "DELETE FROM leaderboard_record WHERE owner_id = %(owner_id)s"
        " RETURNING leaderboard_id, expiry_time, num_score, create_time", {"owner_id": owner_id})


class OwnerRecord(NamedTuple):
    """One of an owner's records in a bucket that has not expired."""

    leaderboard_id: str
    expiry_time: datetime
    score: int
    subscore: int
    num_score: int
    create_time: datetime
    username: str | None


async def owner_current_records(db: Database, owner_id: str) -> list[OwnerRecord]:
    """Each record the owner holds in a bucket that has not expired (one scan of
    owner_id_expiry_time_leaderboard_id_idx)."""
    return await db.fetch_as(
        OwnerRecord._make,
        "SELECT leaderboard_id, expiry_time, score, subscore, num_score, create_time, username"
        " FROM leaderboard_record WHERE owner_id = %(owner_id)s AND (expiry_time = 'epoch' OR expiry_time > now())",
        {"owner_id": owner_id})


async def owner_records(db: Database, board_id: str, expiry: datetime, owner_ids: list[str]) -> list[RecordRow]:
    if len(owner_ids) == 1:
        # Equality on every column of the unique key: the planner takes that index even before the
        # table is analyzed (with ANY it may walk the whole bucket on the primary key instead).
        return await db.fetch_as(
            RecordRow._make, "SELECT " + RECORD_COLS + " FROM leaderboard_record"
            " WHERE leaderboard_id = %(board_id)s AND expiry_time = %(expiry)s AND owner_id = %(owner_id)s::uuid",
            {"board_id": board_id, "expiry": expiry, "owner_id": owner_ids[0]})
    return await db.fetch_as(
        RecordRow._make, "SELECT " + RECORD_COLS + " FROM leaderboard_record"
        " WHERE leaderboard_id = %(board_id)s AND expiry_time = %(expiry)s AND owner_id = ANY(%(owner_ids)s::uuid[])",
        {"board_id": board_id, "expiry": expiry, "owner_ids": owner_ids})


_PAGE: LiteralString = ("SELECT " + RECORD_COLS + " FROM leaderboard_record"
                        " WHERE leaderboard_id = %(board_id)s AND expiry_time = %(expiry)s")
# Qualified names: a bare owner_id would sort by the selected owner_id::text, which no index holds.
_ASC: LiteralString = (" ORDER BY leaderboard_record.score ASC, leaderboard_record.subscore ASC,"
                       " leaderboard_record.owner_id ASC LIMIT %(limit)s")
_DESC: LiteralString = (" ORDER BY leaderboard_record.score DESC, leaderboard_record.subscore DESC,"
                        " leaderboard_record.owner_id DESC LIMIT %(limit)s")
_KEY: LiteralString = " AND (leaderboard_id, expiry_time, score, subscore, owner_id) "
_POSITION: LiteralString = " (%(board_id)s, %(expiry)s, %(score)s, %(subscore)s, %(owner_id)s::uuid)"
_AFTER: LiteralString = _KEY + ">" + _POSITION
_BEFORE: LiteralString = _KEY + "<" + _POSITION


async def record_page(db: Database, board_id: str, expiry: datetime, limit: int, ascending: bool,
                      after: tuple[int, int, str] | None) -> list[RecordRow]:
    """Up to ``limit`` records in ascending (or descending) key order, past a (score, subscore, owner)."""
    if after is None:
        return await db.fetch_as(RecordRow._make, _PAGE + (_ASC if ascending else _DESC),
                                 {"board_id": board_id, "expiry": expiry, "limit": limit})
    query: LiteralString = _PAGE + (_AFTER + _ASC if ascending else _BEFORE + _DESC)
    score, subscore, owner_id = after
    return await db.fetch_as(RecordRow._make, query, {"board_id": board_id, "expiry": expiry, "score": score,
                                                      "subscore": subscore, "owner_id": owner_id, "limit": limit})


# Ranks counted by the database, for a bucket whose ranks are not in memory yet (start-up warm-up):
# how many records are ahead of each (score, subscore, owner), one index range count each.
_AHEAD: dict[bool, LiteralString] = {
    desc: "SELECT (SELECT count(*) FROM leaderboard_record r"
          " WHERE r.leaderboard_id = %(board_id)s AND r.expiry_time = %(expiry)s"
          " AND (r.leaderboard_id, r.expiry_time, r.score, r.subscore, r.owner_id) " + ("> " if desc else "< ") +
          "(%(board_id)s, %(expiry)s, k.score, k.subscore, k.owner_id))"
          " FROM unnest(%(scores)s::bigint[], %(subscores)s::bigint[], %(owners)s::uuid[])"
          " WITH ORDINALITY AS k(score, subscore, owner_id, i) ORDER BY k.i"
    for desc in (False, True)}


async def ranks_ahead(db: Database, board_id: str, expiry: datetime, desc: bool,
                      keys: list[tuple[int, int, str]]) -> list[int]:
    """For each (score, subscore, owner id), how many records of the bucket come before it."""
    if not keys:
        return []
    rows = await db.fetch(_AHEAD[desc], {"board_id": board_id, "expiry": expiry, "scores": [k[0] for k in keys],
                                         "subscores": [k[1] for k in keys], "owners": [k[2] for k in keys]})
    return [int(row[0]) for row in rows]


async def bucket_size(db: Database, board_id: str, expiry: datetime) -> int:
    rows = await db.fetch("SELECT count(*) FROM leaderboard_record"
                          " WHERE leaderboard_id = %(board_id)s AND expiry_time = %(expiry)s",
                          {"board_id": board_id, "expiry": expiry})
    return int(rows[0][0])


async def record_at(db: Database, board_id: str, expiry: datetime, desc: bool, offset: int) -> RecordRow | None:
    """The record with ``offset`` records ahead of it (the one at rank offset + 1)."""
    rows = await db.fetch_as(RecordRow._make, _PAGE + (_DESC if desc else _ASC) + " OFFSET %(offset)s",
                             {"board_id": board_id, "expiry": expiry, "limit": 1, "offset": offset})
    return rows[0] if rows else None


_BUCKET: LiteralString = ("SELECT uuid_send(owner_id), score, subscore,"
                          " (EXTRACT(EPOCH FROM create_time) * 1000000)::bigint, num_score, username"
                          " FROM leaderboard_record WHERE leaderboard_id = %(board_id)s AND expiry_time = %(expiry)s")
_BUCKET_AFTER: LiteralString = " AND (score, subscore, owner_id) > (%(score)s, %(subscore)s, %(owner_id)s::uuid)"
_BUCKET_ORDER: LiteralString = " ORDER BY score, subscore, owner_id LIMIT %(limit)s"


async def bucket_batch(db: Database, board_id: str, expiry: datetime, limit: int,
                       after: tuple[int, int, str] | None) -> list[BucketRow]:
    """A batch of a bucket for loading ranks, in key order, past a (score, subscore, owner)."""
    params: dict[str, Any] = {"board_id": board_id, "expiry": expiry, "limit": limit}
    query = _BUCKET + _BUCKET_ORDER
    if after is not None:
        params["score"], params["subscore"], params["owner_id"] = after
        query = _BUCKET + _BUCKET_AFTER + _BUCKET_ORDER
    async with db.connection() as conn, conn.cursor(binary=True) as cur:
        await cur.execute(query, params)
        rows: list[BucketRow] = await cur.fetchall()
        return rows


async def delete_bucket_batch(db: Database, board_id: str, before: datetime, batch: int) -> list[datetime]:
    """Delete up to ``batch`` records of buckets that expired before ``before`` (never the
    no-reset bucket); the expiry of each deleted record."""
    rows = await db.fetch(
        # (tableoid, ctid): a row's ctid is unique only within its partition.
        "DELETE FROM leaderboard_record r USING (SELECT tableoid AS t, ctid AS c FROM leaderboard_record"
        " WHERE leaderboard_id = %(board_id)s AND expiry_time > 'epoch'::timestamptz AND expiry_time < %(before)s"
        " LIMIT %(batch)s) d WHERE r.tableoid = d.t AND r.ctid = d.c RETURNING r.expiry_time",
        {"board_id": board_id, "before": before, "batch": batch})
    return [expiry_time for (expiry_time,) in rows]


# --- idempotent writes ----------------------------------------------------------------

RECEIPT_COLS: LiteralString = ("create_time, expiry_time, submitted_score, submitted_subscore, updated, rank, username,"
                               " score, subscore, num_score, max_num_score, metadata::text, record_create_time,"
                               " record_update_time")


class ReceiptRow(NamedTuple):
    create_time: datetime
    expiry_time: datetime
    submitted_score: int
    submitted_subscore: int
    updated: bool
    rank: int
    username: str | None
    score: int
    subscore: int
    num_score: int
    max_num_score: int
    metadata: str
    record_create_time: datetime
    record_update_time: datetime


_RECEIPT_WIDTH = len(ReceiptRow._fields)


class OnceWrite(NamedTuple):
    """An idempotent write, as the statement takes it (field names are its parameters)."""

    board_id: str
    owner_id: str
    idempotency_key: str
    username: str | None
    score: int
    subscore: int
    metadata: str | None
    expiry: datetime
    ranked: bool
    keep_sec: float  # how long the receipt is kept
    rate_count: int | None  # at most this many accepted writes per owner ...
    rate_window_sec: float | None  # ... per this rolling window; None: no limit
    predicted_score: int  # the record memory expects the write to leave, -1 when it cannot say
    predicted_subscore: int
    predicted_rank: int


class OnceOutcome(enum.IntEnum):
    WRITTEN = 0  # written now
    REPLAYED = 1  # the key's live receipt, nothing written
    LIMITED = 2  # rate limited (``retry_after_sec`` filled)


class OnceResult(NamedTuple):
    outcome: OnceOutcome
    receipt: ReceiptRow | None  # None when limited
    retry_after_sec: float | None


def _once_result(values: Sequence[Any]) -> OnceResult:
    outcome = OnceOutcome(values[0])
    receipt = None if outcome is OnceOutcome.LIMITED else ReceiptRow._make(values[1:1 + _RECEIPT_WIDTH])
    return OnceResult(outcome, receipt, values[1 + _RECEIPT_WIDTH])


class StoredReceipt(NamedTuple):
    live: bool
    receipt: ReceiptRow


def _stored_receipt(values: Sequence[Any]) -> StoredReceipt:
    return StoredReceipt(values[0], ReceiptRow._make(values[1:]))


_ONCE_HEAD: LiteralString = """
WITH prior AS (
    SELECT """ + RECEIPT_COLS + """ FROM nakama_py_leaderboard_receipt
    WHERE leaderboard_id = %(board_id)s AND owner_id = %(owner_id)s AND idempotency_key = %(idempotency_key)s
      AND expire_time > now()
), recent AS (
    SELECT create_time FROM nakama_py_leaderboard_receipt
    WHERE %(rate_count)s::int IS NOT NULL AND leaderboard_id = %(board_id)s AND owner_id = %(owner_id)s
      AND create_time > now() - make_interval(secs => %(rate_window_sec)s::float8)
    ORDER BY create_time DESC LIMIT %(rate_count)s::int
), gate AS (
    SELECT NOT EXISTS (SELECT 1 FROM prior)
       AND (%(rate_count)s::int IS NULL OR (SELECT count(*) FROM recent) < %(rate_count)s::int) AS open
), old AS (
    SELECT """ + WRITE_RETURNING + """ FROM leaderboard_record
    WHERE leaderboard_id = %(board_id)s AND expiry_time = %(expiry)s AND owner_id = %(owner_id)s
), up AS (
"""
_ONCE_SOURCE: LiteralString = ("SELECT %(board_id)s, %(owner_id)s::uuid, %(username)s, $VALUES,"
                               " COALESCE(%(metadata)s::jsonb, '{}'::jsonb), %(expiry)s FROM gate WHERE gate.open")


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
    SELECT %(board_id)s, %(owner_id)s, %(idempotency_key)s, now() + make_interval(secs => %(keep_sec)s::float8),
        %(expiry)s, %(score)s, %(subscore)s, r.updated,
        CASE WHEN NOT %(ranked)s THEN 0
             WHEN r.score = %(predicted_score)s AND r.subscore = %(predicted_subscore)s THEN %(predicted_rank)s
             ELSE (SELECT count(*) + 1 FROM leaderboard_record x
                   WHERE x.leaderboard_id = %(board_id)s AND x.expiry_time = %(expiry)s
                     AND x.owner_id <> %(owner_id)s::uuid
                     AND (x.score, x.subscore, x.owner_id) """ + better + """ (r.score, r.subscore, %(owner_id)s::uuid))
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
            + make_interval(secs => %(rate_window_sec)s::float8) - now())::float8
WHERE NOT EXISTS (SELECT 1 FROM prior) AND NOT (SELECT open FROM gate)
"""


WRITE_ONCE_SQL: dict[tuple[Operator, bool], LiteralString] = {
    key: _ONCE_HEAD + _upsert(key[0], key[1], _ONCE_SOURCE) + _once_tail(key[1]) for key in _UPDATE}


async def write_once(db: Database, operator: Operator, desc: bool, write: OnceWrite) -> OnceResult | None:
    """The whole idempotent write in one statement; its result, or None when the owner's
    record changed under the statement in a way it could not account for (retry).
    Concurrent calls share a transaction, taken in (board, owner) order."""
    row = await db.fetchrow_grouped(WRITE_ONCE_SQL[(operator, desc)], write._asdict(),
                                    order=(write.board_id, write.owner_id))
    return None if row is None else _once_result(row)


async def write_once_many(db: Database, operator: Operator, desc: bool,
                          writes: Sequence[OnceWrite]) -> list[OnceResult | None]:
    """Many idempotent writes committed together, in one round trip (a batch applied from a queue); each
    one's result as ``write_once`` gives it. One failing rolls all back and raises."""
    query = WRITE_ONCE_SQL[(operator, desc)]
    rows = await db.fetchrows_together([(query, write._asdict()) for write in writes])
    return [None if row is None else _once_result(row) for row in rows]


_ONE_RECEIPT: LiteralString = (" WHERE leaderboard_id = %(board_id)s AND owner_id = %(owner_id)s"
                               " AND idempotency_key = %(idempotency_key)s")


async def read_receipt(db: Database, board_id: str, owner_id: str, key: str) -> StoredReceipt | None:
    """A stored receipt and whether it is still live."""
    return await db.fetchrow_as(
        _stored_receipt, "SELECT expire_time > now(), " + RECEIPT_COLS + " FROM nakama_py_leaderboard_receipt"
        + _ONE_RECEIPT, {"board_id": board_id, "owner_id": owner_id, "idempotency_key": key})


async def delete_dead_receipt(db: Database, board_id: str, owner_id: str, key: str) -> None:
    await db.execute("DELETE FROM nakama_py_leaderboard_receipt" + _ONE_RECEIPT + " AND expire_time <= now()",
                     {"board_id": board_id, "owner_id": owner_id, "idempotency_key": key})


async def purge_receipts(db: Database, batch: int) -> int:
    return await db.execute(
        "DELETE FROM nakama_py_leaderboard_receipt WHERE ctid = ANY(ARRAY("
        " SELECT ctid FROM nakama_py_leaderboard_receipt WHERE expire_time <= now() LIMIT %(batch)s))",
        {"batch": batch})


async def count_receipts(db: Database, board_id: str, expiry: datetime | None) -> int:
    """Live receipts of a board; with ``expiry``, only those of writes into that bucket."""
    if expiry is None:
        value = await db.fetchval(
            "SELECT count(*) FROM nakama_py_leaderboard_receipt"
            " WHERE leaderboard_id = %(board_id)s AND expire_time > now()", {"board_id": board_id})
    else:
        value = await db.fetchval(
            "SELECT count(*) FROM nakama_py_leaderboard_receipt"
            " WHERE leaderboard_id = %(board_id)s AND expiry_time = %(expiry)s",
            {"board_id": board_id, "expiry": expiry})
    return int(value or 0)


# --- reset claims ------------------------------------------------------------------------


class ResetClaim(NamedTuple):
    leaderboard_id: str
    reset_time: datetime


async def last_resets(db: Database) -> dict[str, datetime]:
    """Per board, the latest reset ever claimed."""
    rows = await db.fetch_as(
        ResetClaim._make,
        "SELECT leaderboard_id, max(reset_time) FROM nakama_py_leaderboard_reset GROUP BY leaderboard_id")
    return {r.leaderboard_id: r.reset_time for r in rows}


async def tracking_since(db: Database) -> datetime | None:
    """When this database started recording resets (the migration that made the table)."""
    value = await db.fetchval("SELECT applied_at FROM nakama_py_migration WHERE id = '0003_leaderboards'")
    return value if isinstance(value, datetime) else None


_THIS_CLAIM: LiteralString = (" WHERE leaderboard_id = %(board_id)s AND reset_time = %(reset)s"
                              " AND claimed_by = %(node)s AND done_time IS NULL")


async def claim_reset(db: Database, board_id: str, reset: datetime, node: str, lease_sec: float) -> int | None:
    """Claim a reset for this process unless it is done or leased to another; the attempt number."""
    return await db.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO nakama_py_leaderboard_reset AS r (leaderboard_id, reset_time, claimed_by, lease_until)"
        " VALUES (%(board_id)s, %(reset)s, %(node)s, now() + make_interval(secs => %(lease_sec)s::float8))"
        " ON CONFLICT (leaderboard_id, reset_time) DO UPDATE SET claimed_by = EXCLUDED.claimed_by,"
        " lease_until = EXCLUDED.lease_until, attempts = r.attempts + 1"
        " WHERE r.done_time IS NULL AND r.lease_until < now()"
        " RETURNING attempts", {"board_id": board_id, "reset": reset, "node": node, "lease_sec": lease_sec})


async def extend_reset_lease(db: Database, board_id: str, reset: datetime, node: str, lease_sec: float) -> bool:
    return await db.execute(
        "UPDATE nakama_py_leaderboard_reset SET lease_until = now() + make_interval(secs => %(lease_sec)s::float8)"
        + _THIS_CLAIM, {"board_id": board_id, "reset": reset, "node": node, "lease_sec": lease_sec}) > 0


async def finish_reset(db: Database, board_id: str, reset: datetime, node: str, error: str | None) -> bool:
    return await db.execute(
        "UPDATE nakama_py_leaderboard_reset SET done_time = now(), last_error = %(error)s" + _THIS_CLAIM,
        {"board_id": board_id, "reset": reset, "node": node, "error": error}) > 0


async def release_reset(db: Database, board_id: str, reset: datetime, node: str, retry_in_sec: float,
                        error: str) -> None:
    """Give a failed claim back, to be retried (by anyone) after ``retry_in_sec``."""
    await db.execute(
        "UPDATE nakama_py_leaderboard_reset SET lease_until = now() + make_interval(secs => %(retry_sec)s::float8),"
        " last_error = %(error)s" + _THIS_CLAIM,
        {"board_id": board_id, "reset": reset, "node": node, "retry_sec": retry_in_sec, "error": error})


async def stale_resets(db: Database, limit: int) -> list[ResetClaim]:
    """Claims not done whose lease ran out: their process died, or their handler failed."""
    return await db.fetch_as(
        ResetClaim._make, "SELECT leaderboard_id, reset_time FROM nakama_py_leaderboard_reset"
        " WHERE done_time IS NULL AND lease_until < now() ORDER BY reset_time LIMIT %(limit)s", {"limit": limit})
