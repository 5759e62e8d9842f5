"""SQL of the PostgreSQL cluster bus (nakama_py/cluster/pg_bus.py): LISTEN/NOTIFY, the spill table
for payloads too large for a notification (nakama_py_cluster_message) and the membership table
(nakama_py_cluster_node)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

from nakama_py.db.pool import Database


@dataclass(frozen=True, slots=True)
class LiveProcess:
    node: str
    process: str
    started_at: float  # unix seconds
    age_sec: float  # since its last heartbeat, by the database's clock


async def listen(conn: AsyncConnection[Any], channel: str) -> None:
    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))


async def notify_many(conn: AsyncConnection[Any], channels: Sequence[str], payloads: Sequence[str]) -> None:
    """One notification per (channel, payload), sent in order, in one statement."""
    await conn.execute("SELECT pg_notify(c, p) FROM unnest(%(channels)s::text[], %(payloads)s::text[])"
                       " WITH ORDINALITY AS t(c, p, i) ORDER BY i",
                       {"channels": list(channels), "payloads": list(payloads)})


async def notify_spilled(conn: AsyncConnection[Any], channel: str, head: str, payload: bytes) -> None:
    """Store ``payload`` and notify ``head`` followed by its row id; the row is visible to listeners
    when they hear of it, since a notification is delivered at commit."""
    await conn.execute("WITH m AS (INSERT INTO nakama_py_cluster_message (topic, payload)"
                       " VALUES (%(channel)s, %(payload)s) RETURNING id)"
                       " SELECT pg_notify(%(channel)s, %(head)s || m.id) FROM m",
                       {"channel": channel, "payload": payload, "head": head})


async def spilled_payload(db: Database, message_id: int) -> bytes | None:
    row = await db.fetchrow("SELECT payload FROM nakama_py_cluster_message WHERE id = %(id)s", {"id": message_id})
    return None if row is None else bytes(row[0])


async def heartbeat(db: Database, process: str, node: str, started_at: float,
                    expiry_sec: float) -> list[LiveProcess]:
    """Record that ``process`` is alive; every other process seen alive within ``expiry_sec``."""
    async with db.connection() as conn:
        await conn.execute("INSERT INTO nakama_py_cluster_node (process, node, started_at)"
                           " VALUES (%(process)s, %(node)s, to_timestamp(%(started_at)s))"
                           " ON CONFLICT (process) DO UPDATE SET last_seen = now()",
                           {"process": process, "node": node, "started_at": started_at})
        cur = await conn.execute(
            "SELECT node, process, extract(epoch FROM started_at)::float8,"
            " extract(epoch FROM now() - last_seen)::float8 FROM nakama_py_cluster_node"
            " WHERE last_seen > now() - make_interval(secs => %(expiry)s) AND process <> %(process)s",
            {"expiry": expiry_sec, "process": process})
        return [LiveProcess(*row) for row in await cur.fetchall()]


async def leave(db: Database, process: str) -> None:
    await db.execute("DELETE FROM nakama_py_cluster_node WHERE process = %(process)s", {"process": process})


async def prune(db: Database, message_keep_sec: float, node_keep_sec: float) -> None:
    """Forget spilled messages and dead processes older than their bounds."""
    await db.execute("DELETE FROM nakama_py_cluster_message"
                     " WHERE created_at < now() - make_interval(secs => %(keep)s)", {"keep": message_keep_sec})
    await db.execute("DELETE FROM nakama_py_cluster_node"
                     " WHERE last_seen < now() - make_interval(secs => %(keep)s)", {"keep": node_keep_sec})
