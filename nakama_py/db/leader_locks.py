"""SQL of single-leader jobs (nakama_py/cluster/leader_jobs.py): session-level advisory locks."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection


async def try_lock(conn: AsyncConnection[Any], key: int) -> bool:
    """Take the lock ``key`` for this session if no other session holds it."""
    cur = await conn.execute("SELECT pg_try_advisory_lock(%(key)s)", {"key": key})
    row = await cur.fetchone()
    return row is not None and bool(row[0])


async def ping(conn: AsyncConnection[Any]) -> None:
    await conn.execute("SELECT 1")
