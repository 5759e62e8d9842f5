"""The partitions of ``leaderboard_record`` (sql/0009): one per UTC day of expiry, created when a
bucket of that day is first written, and dropped whole when every record in them has expired past
retention, so dropping an old cycle costs the live workload nothing like a delete of its rows.

- ``ensure`` before a write: creates the day's partition unless this process knows it exists
  (one query per new day and process; the function in the database tolerates a race).
- ``drop_expired``: the partitions whose every record belongs to one board and expired before a
  cutoff are detached ``CONCURRENTLY`` (reads and writes of the other partitions go on; it waits only
  for transactions that could see the partition) and then dropped. A partition shared with another
  board is left to the row-by-row path of its caller.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from datetime import UTC, date, datetime, timedelta

from psycopg import sql as q

from nakama_py.db.errors import DatabaseError
from nakama_py.db.pool import Database

log = logging.getLogger("nakama_py.db")

NAME = re.compile(r"leaderboard_record_p(\d{8})")

# Per database handle: the days whose partition is known to exist, and the lock its first writers share.
_known: weakref.WeakKeyDictionary[Database, set[date]] = weakref.WeakKeyDictionary()
_creating: weakref.WeakKeyDictionary[Database, asyncio.Lock] = weakref.WeakKeyDictionary()


def day_of(expiry: datetime) -> date:
    return expiry.astimezone(UTC).date()


async def ensure(db: Database, expiry: datetime) -> None:
    """The partition for a bucket expiring at ``expiry`` exists (the epoch bucket's always does)."""
    day = day_of(expiry)
    if day < date(1970, 1, 2):
        return
    known = _known.setdefault(db, set())
    if day in known:
        return
    async with _creating.setdefault(db, asyncio.Lock()):  # one query for a burst of first writes
        if day not in known:
            await db.execute("SELECT nakama_py_record_partition(%(day)s)", {"day": day})
            known.add(day)


async def _partitions(db: Database) -> list[tuple[str, bool]]:
    """Every day partition: (name, detach pending)."""
    rows = await db.fetch(
        "SELECT c.relname, i.inhdetachpending FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'leaderboard_record'::regclass")
    return [(str(name), bool(pending)) for name, pending in rows if NAME.fullmatch(str(name))]


async def drop_expired(db: Database, board_id: str, before: datetime) -> list[tuple[str, int]]:
    """Drop each day partition holding only ``board_id``'s records (or none) that all expired before
    ``before``; the names dropped, with their record counts (a read of the cold partition, no lock
    that stops anyone)."""
    dropped = []
    for name, pending in await _partitions(db):
        match = NAME.fullmatch(name)
        assert match is not None
        day = datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC)
        if day + timedelta(days=1) > before:
            continue
        table = q.Identifier(name)
        try:
            async with db.connection() as conn:  # translates driver errors
                if not pending:
                    cur = await conn.execute(q.SQL("SELECT min(leaderboard_id), max(leaderboard_id) FROM {}")
                                             .format(table))
                    low, high = await cur.fetchone() or (None, None)
                    if low is not None and not low == high == board_id:
                        continue  # another board's records too: its caller deletes board_id's rows
                    cur = await conn.execute(q.SQL("SELECT count(*) FROM {}").format(table))
                    rows = int((await cur.fetchone() or (0,))[0])
                    await conn.execute(q.SQL("ALTER TABLE leaderboard_record DETACH PARTITION {} CONCURRENTLY")
                                       .format(table))
                else:  # an earlier detach was interrupted
                    rows = 0
                    await conn.execute(q.SQL("ALTER TABLE leaderboard_record DETACH PARTITION {} FINALIZE")
                                       .format(table))
                await conn.execute(q.SQL("DROP TABLE {}").format(table))
        except DatabaseError as exc:  # another process dropped it meanwhile, or a lock timed out
            log.warning("leaderboard record partition not dropped", extra={"fields": {"partition": name,
                                                                                   "error": str(exc)}})
            continue
        _known.get(db, set()).discard(day.date())
        dropped.append((name, rows))
    return dropped
