"""SQL for storage objects (table ``storage``).

Reads are one statement whatever the number of objects. A write or delete batch
runs in one transaction whose statements (BEGIN included) are sent in psycopg
pipeline mode: one round trip for the whole batch, one more for COMMIT or
ROLLBACK once the core has judged the outcomes. Rows are locked in the order the
caller gives, which the core sorts, so concurrent batches cannot deadlock.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString, NamedTuple

import psycopg
from psycopg import AsyncCursor
from psycopg.pq import TransactionStatus

from nakama_py.db.errors import map_errors
from nakama_py.db.pool import Connection, Database, Query, row_factory

log = logging.getLogger("nakama_py.storage")

COLUMNS = "collection, key, user_id::text, value::text, version, read, write, create_time, update_time"
# Listings order by table columns (storage.user_id), not by the text output column of the same name,
# so that the order is the index's and no sort is needed.
# LWW answers no row only when the conflicting row was committed after the statement's
# snapshot was taken; run alone again (new snapshot, row already locked) it finds it.
LWW_RETRIES = 3


class Row(NamedTuple):
    collection: str
    key: str
    user_id: str
    value: str
    version: str
    read: int
    write: int
    create_time: datetime
    update_time: datetime


class WriteMode(enum.Enum):
    LAST_WRITE_WINS = "lww"
    CREATE_ONLY = "create"
    IF_MATCH = "if-match"


@dataclass(frozen=True, slots=True)
class WriteOp:
    collection: str
    key: str
    user_id: str
    value: str
    version: str  # the new version (MD5 of the value as submitted)
    read: int
    write: int
    mode: WriteMode
    expected: str = ""  # the version an IF_MATCH write requires


class WriteOutcome(NamedTuple):
    """The row after the statement; ``applied`` is False when the row was left as it was."""

    read: int
    write: int
    version: str
    create_time: datetime
    update_time: datetime
    applied: bool


@dataclass(frozen=True, slots=True)
class DeleteOp:
    collection: str
    key: str
    user_id: str
    version: str = ""


# --- reads ---------------------------------------------------------------------

_READ_ONE = ("SELECT " + COLUMNS + " FROM storage"
             " WHERE collection = %(collection)s AND key = %(key)s AND user_id = %(user_id)s::uuid")
_READ_ONE_AS_CLIENT = (_READ_ONE + " AND (read = 2 OR (read = 1 AND user_id = %(caller)s::uuid))")
_READ_MANY = ("SELECT s.collection, s.key, s.user_id::text, s.value::text, s.version, s.read, s.write,"
              " s.create_time, s.update_time"
              " FROM unnest(%(collections)s::text[], %(keys)s::text[], %(user_ids)s::uuid[])"
              " WITH ORDINALITY AS t(collection, key, user_id, n)"
              " JOIN storage s ON s.collection = t.collection AND s.key = t.key AND s.user_id = t.user_id")
_READ_MANY_ANY = _READ_MANY + " ORDER BY t.n"
_READ_MANY_AS_CLIENT = (_READ_MANY + " WHERE s.read = 2 OR (s.read = 1 AND s.user_id = %(caller)s::uuid)"
                        " ORDER BY t.n")


async def read_objects(db: Database, ids: Sequence[tuple[str, str, str]], caller: str | None) -> list[Row]:
    """The objects named ``(collection, key, user_id)`` that exist (and ``caller`` may read), in that order."""
    if not ids:
        return []
    if len(ids) == 1:
        collection, key, user_id = ids[0]
        one = {"collection": collection, "key": key, "user_id": user_id, "caller": caller}
        return await db.fetch_as(Row._make, _READ_ONE if caller is None else _READ_ONE_AS_CLIENT, one)
    many = {"collections": [i[0] for i in ids], "keys": [i[1] for i in ids], "user_ids": [i[2] for i in ids],
            "caller": caller}
    return await db.fetch_as(Row._make, _READ_MANY_ANY if caller is None else _READ_MANY_AS_CLIENT, many)


# --- listings (keyset pagination; each matches one of the table's indexes) -----

_LIST_ALL = ("SELECT " + COLUMNS + " FROM storage"
             " WHERE collection = %(collection)s AND read >= %(min_read)s"
             " AND (read, key, user_id) > (%(read)s, %(key)s, %(user_id)s::uuid)"
             " ORDER BY storage.read, storage.key, storage.user_id LIMIT %(limit)s")
_LIST_USER = ("SELECT " + COLUMNS + " FROM storage"
              " WHERE collection = %(collection)s AND user_id = %(owner)s::uuid AND read >= %(min_read)s"
              " AND (read, key) > (%(read)s, %(key)s)"
              " ORDER BY storage.read, storage.key LIMIT %(limit)s")
_LIST_PUBLIC_USER = ("SELECT " + COLUMNS + " FROM storage"
                     " WHERE collection = %(collection)s AND user_id = %(owner)s::uuid AND read = 2"
                     " AND key > %(key)s ORDER BY storage.key LIMIT %(limit)s")


async def count_objects(db: Database, collection: str, owner: str | None) -> int:
    if owner is None:
        value = await db.fetchval("SELECT count(*) FROM storage WHERE collection = %(collection)s",
                                  {"collection": collection})
    else:
        value = await db.fetchval("SELECT count(*) FROM storage WHERE collection = %(collection)s"
                                  " AND user_id = %(owner)s", {"collection": collection, "owner": owner})
    return int(value or 0)


async def list_all(db: Database, collection: str, *, min_read: int, after: tuple[int, str, str],
                   limit: int) -> list[Row]:
    """Every owner's objects with ``read >= min_read``, by (read, key, user_id), after ``after``."""
    return await db.fetch_as(Row._make, _LIST_ALL, {
        "collection": collection, "min_read": min_read, "read": after[0], "key": after[1], "user_id": after[2],
        "limit": limit})


async def list_user(db: Database, collection: str, owner: str, *, min_read: int, after: tuple[int, str],
                    limit: int) -> list[Row]:
    """One owner's objects with ``read >= min_read``, by (read, key), after ``after``."""
    return await db.fetch_as(Row._make, _LIST_USER, {
        "collection": collection, "owner": owner, "min_read": min_read, "read": after[0], "key": after[1],
        "limit": limit})


async def list_public_user(db: Database, collection: str, owner: str, *, after_key: str, limit: int) -> list[Row]:
    """One owner's public (read = 2) objects, by key, after ``after_key``."""
    return await db.fetch_as(Row._make, _LIST_PUBLIC_USER, {
        "collection": collection, "owner": owner, "key": after_key, "limit": limit})


# --- write and delete batches --------------------------------------------------

@asynccontextmanager
async def batch(db: Database, conn: Connection | None = None) -> AsyncIterator[Connection]:
    """A connection inside a transaction for one batch, rolled back if the block raises.

    With a caller's ``conn`` already in a transaction the batch is a savepoint in it, so a
    rejected batch leaves nothing behind even if the caller carries on.
    """
    if conn is None:
        async with db.connection() as own, _atomic(own, nested=False):
            yield own
        return
    with map_errors():  # the COMMIT (or RELEASE) on the way out is a statement too
        async with _atomic(conn, nested=conn.info.transaction_status != TransactionStatus.IDLE):
            yield conn


@asynccontextmanager
async def _atomic(conn: Connection, nested: bool) -> AsyncIterator[None]:
    # BEGIN/COMMIT are queued in the pipeline by hand (psycopg's transaction() syncs on entry
    # and exit) and results are fetched with a flush, not a sync: the batch costs two round
    # trips, BEGIN with the statements, then COMMIT (or ROLLBACK) once the core has judged them.
    if nested:
        begin, commit, rollback = _SAVEPOINT, _RELEASE, _ROLLBACK_TO
    else:
        begin, commit, rollback = _BEGIN, _COMMIT, _ROLLBACK
    async with conn.pipeline() as pipeline:
        await conn.execute(begin)
        try:
            yield
        except BaseException:
            try:
                # After a database error the pipeline skips everything up to the next sync.
                with contextlib.suppress(psycopg.Error):
                    await pipeline.sync()
                await conn.execute(rollback)
            except Exception:  # the connection is unusable; the pool discards it
                log.warning("storage batch rollback failed", exc_info=True)
            raise
        await conn.execute(commit)


_BEGIN: Query = "BEGIN"
_COMMIT: Query = "COMMIT"
_ROLLBACK: Query = "ROLLBACK"
_SAVEPOINT: Query = "SAVEPOINT nakama_py_storage_batch"
_RELEASE: Query = "RELEASE SAVEPOINT nakama_py_storage_batch"
_ROLLBACK_TO: Query = "ROLLBACK TO SAVEPOINT nakama_py_storage_batch"


# After an "upd" CTE: the row it wrote (true), else the row as it stands (false), else nothing.
_CHANGED_OR_CURRENT: LiteralString = (
    " SELECT read, write, version, create_time, update_time, true FROM upd"
    " UNION ALL"
    " SELECT read, write, version, create_time, update_time, false FROM storage"
    " WHERE collection = %(collection)s AND key = %(key)s AND user_id = %(user_id)s::uuid"
    " AND NOT EXISTS (SELECT 1 FROM upd)"
    " LIMIT 1"
)
# Named parameters shared by the three write statements:
# collection, key, user_id, value, version, read, write, enforce (client permission rule), expected.
_WRITE_LWW: Query = (
    "WITH upd AS ("
    " INSERT INTO storage AS s (collection, key, user_id, value, version, read, write, create_time, update_time)"
    " VALUES (%(collection)s, %(key)s, %(user_id)s::uuid, %(value)s::jsonb, %(version)s, %(read)s, %(write)s,"
    " now(), now())"
    " ON CONFLICT (collection, key, user_id) DO UPDATE"
    " SET value = excluded.value, version = excluded.version, read = excluded.read, write = excluded.write,"
    " update_time = now()"
    " WHERE (NOT %(enforce)s OR s.write = 1)"
    # Nakama's optimisation: an identical version and permissions leave the row (and its times) alone.
    " AND (s.version, s.read, s.write) IS DISTINCT FROM (excluded.version, excluded.read, excluded.write)"
    " RETURNING s.read, s.write, s.version, s.create_time, s.update_time)"
    + _CHANGED_OR_CURRENT
)
_WRITE_IF_MATCH: Query = (
    "WITH upd AS ("
    " UPDATE storage SET value = %(value)s::jsonb, version = %(version)s, read = %(read)s, write = %(write)s,"
    " update_time = now()"
    " WHERE collection = %(collection)s AND key = %(key)s AND user_id = %(user_id)s::uuid"
    " AND version = %(expected)s AND (NOT %(enforce)s OR write = 1)"
    " RETURNING read, write, version, create_time, update_time)"
    + _CHANGED_OR_CURRENT
)
_WRITE_CREATE: Query = (
    "INSERT INTO storage (collection, key, user_id, value, version, read, write, create_time, update_time)"
    " VALUES (%(collection)s, %(key)s, %(user_id)s::uuid, %(value)s::jsonb, %(version)s, %(read)s, %(write)s,"
    " now(), now())"
    " ON CONFLICT (collection, key, user_id) DO NOTHING"
    " RETURNING read, write, version, create_time, update_time, true"
)
_WRITE_SQL: dict[WriteMode, Query] = {
    WriteMode.LAST_WRITE_WINS: _WRITE_LWW,
    WriteMode.IF_MATCH: _WRITE_IF_MATCH,
    WriteMode.CREATE_ONLY: _WRITE_CREATE,
}
_DELETE: Query = (
    "WITH gone AS ("
    " DELETE FROM storage WHERE collection = %(collection)s AND key = %(key)s AND user_id = %(user_id)s::uuid"
    " AND (NOT %(enforce)s OR write > 0) AND (%(version)s = '' OR version = %(version)s)"
    " RETURNING 1)"
    " SELECT count(*) FROM gone"
)


def _write_params(op: WriteOp, enforce: bool) -> dict[str, Any]:
    return {"collection": op.collection, "key": op.key, "user_id": op.user_id, "value": op.value,
            "version": op.version, "read": op.read, "write": op.write, "enforce": enforce,
            "expected": op.expected}


_OUTCOMES = row_factory(WriteOutcome._make)


async def write_objects(conn: Connection, ops: Sequence[WriteOp], *,
                        enforce_permission: bool) -> list[WriteOutcome | None]:
    """Run the writes in the given order on ``conn`` (inside a ``batch``); one outcome per write.

    None means no row: an IF_MATCH write found no object, or a CREATE_ONLY write found one.
    A value the database cannot store raises ``ValueRejected`` (``TextUnstorable`` for a
    \\u0000 escape); an owner that is not a user, ``ForeignKeyViolation``.
    """
    with map_errors():
        # Queued back to back when ``conn`` is in pipeline mode (``batch``); the first fetch flushes them.
        cursors: list[AsyncCursor[WriteOutcome]] = []
        for op in ops:
            cur = conn.cursor(row_factory=_OUTCOMES)
            await cur.execute(_WRITE_SQL[op.mode], _write_params(op, enforce_permission))
            cursors.append(cur)
        outcomes = [await cur.fetchone() for cur in cursors]
        for i, op in enumerate(ops):
            attempts = 0
            while outcomes[i] is None and op.mode is WriteMode.LAST_WRITE_WINS and attempts < LWW_RETRIES:
                attempts += 1
                again = conn.cursor(row_factory=_OUTCOMES)
                await again.execute(_WRITE_LWW, _write_params(op, enforce_permission))
                outcomes[i] = await again.fetchone()
        return outcomes


async def delete_objects(conn: Connection, ops: Sequence[DeleteOp], *, enforce_permission: bool) -> list[int]:
    """Run the deletes in the given order on ``conn`` (inside a ``batch``); rows deleted per delete."""
    with map_errors():
        cursors: list[AsyncCursor[Any]] = []
        for op in ops:
            cur = conn.cursor()
            await cur.execute(_DELETE, {"collection": op.collection, "key": op.key, "user_id": op.user_id,
                                        "enforce": enforce_permission, "version": op.version})
            cursors.append(cur)
        counts = []
        for cur in cursors:
            row = await cur.fetchone()
            counts.append(0 if row is None else int(row[0]))
        return counts
