"""SQL for failed sign-ins (table nakama_py_login_attempt). Every time is the database's clock, so
processes and nodes with drifting clocks agree on when a lockout starts and ends."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from nakama_py.db.pool import Database

# Rows nobody failed with for this long are deleted, a bounded batch per recorded failure: the table
# only grows through failures, so it stays about as large as the failures of the last window.
STALE_BATCH = 100


class LockRow(NamedTuple):
    scope: str
    key: str
    # seconds until the lock ends, by the database's clock
    remaining_sec: float


async def active_locks(db: Database, limit: int) -> list[LockRow]:
    """Every key locked now (the newest first, at most ``limit``)."""
    return await db.fetch_as(
        LockRow._make,
        "SELECT scope, key, extract(epoch FROM locked_until - now())::float8 FROM nakama_py_login_attempt"
        " WHERE locked_until > now() ORDER BY locked_until DESC LIMIT %(limit)s",
        {"limit": limit})


async def record_failure(db: Database, scope: str, key: str, max_attempts: int, window: timedelta,
                         keep: timedelta) -> float:
    """Count a failure inside the sliding window; lock for the window when it reaches the threshold.
    The seconds the key stays locked (0 when it is not)."""
    remaining = await db.fetchval(
        "INSERT INTO nakama_py_login_attempt AS a (scope, key, attempts, locked_until)"
        " VALUES (%(scope)s, %(key)s, ARRAY[now()],"
        "         CASE WHEN %(max)s <= 1 THEN now() + %(window)s END)"
        " ON CONFLICT (scope, key) DO UPDATE SET"
        "  attempts = ARRAY(SELECT t FROM unnest(a.attempts) t WHERE t > now() - %(window)s"
        "                   ORDER BY t DESC LIMIT %(max)s - 1) || now(),"
        "  locked_until = CASE WHEN (SELECT count(*) FROM unnest(a.attempts) t WHERE t > now() - %(window)s)"
        "                           + 1 >= %(max)s THEN now() + %(window)s ELSE a.locked_until END,"
        "  update_time = now()"
        " RETURNING greatest(coalesce(extract(epoch FROM locked_until - now())::float8, 0), 0)",
        {"scope": scope, "key": key, "max": max_attempts, "window": window})
    await db.execute(
        "DELETE FROM nakama_py_login_attempt WHERE (scope, key) IN ("
        " SELECT scope, key FROM nakama_py_login_attempt WHERE update_time < now() - %(keep)s"
        " LIMIT %(batch)s)",
        {"keep": keep, "batch": STALE_BATCH})
    return float(remaining or 0)


async def reset_account(db: Database, scope: str, account: str) -> None:
    await db.execute("DELETE FROM nakama_py_login_attempt WHERE scope = %(scope)s AND key = %(account)s",
                     {"scope": scope, "account": account})
