"""SQL of friendships: Nakama's ``user_edge`` table, laid out exactly as Nakama does.

Every relationship but a block is two rows, one per direction, sharing a ``position``
(the creation time in nanoseconds, the list order): friend 0/0, an invite 1 (sender's
row) / 2 (receiver's row). A block is the blocker's row alone, state 3.
``users.edge_count`` counts a user's own rows. Writers call these inside one
transaction after ``lock_users``, which locks every user involved in id order, so
two requests about the same pair run one after the other whatever their direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from nakama_py.db.accounts import USER_COLUMNS
from nakama_py.db.pool import Connection, Database

Conn = Connection

async def lock_users(conn: Conn, user_ids: Sequence[str]) -> set[str]:
    """Lock the users' rows in id order; the ids that exist."""
    cur = await conn.execute(
        "SELECT id::text FROM users WHERE id = ANY(%(ids)s::uuid[]) ORDER BY id FOR UPDATE",
        {"ids": sorted(set(user_ids))})
    return {row[0] for row in await cur.fetchall()}


async def edge_states(conn: Conn, user_id: str, friend_id: str) -> tuple[int | None, int | None]:
    """The state of ``user -> friend`` and of ``friend -> user`` (None: no row)."""
    cur = await conn.execute(
        "SELECT source_id::text, state FROM user_edge WHERE (source_id = %(user)s AND destination_id = %(friend)s)"
        " OR (source_id = %(friend)s AND destination_id = %(user)s)", {"user": user_id, "friend": friend_id})
    states = {row[0]: int(row[1]) for row in await cur.fetchall()}
    return states.get(user_id), states.get(friend_id)


async def blocks(db: Database, user_id: str, other_id: str) -> bool:
    """Whether ``user_id`` blocks ``other_id`` (its own edge toward them in state 3)."""
    row = await db.fetchrow("SELECT 1 FROM user_edge WHERE source_id = %(user)s AND destination_id = %(other)s"
                            " AND state = 3", {"user": user_id, "other": other_id})
    return row is not None


async def set_metadata(db: Database, user_id: str, friend_id: str, metadata: str) -> None:
    """Replace the metadata on the user's own edge toward the friend (none: nothing changes)."""
    await db.execute("UPDATE user_edge SET metadata = %(metadata)s::jsonb WHERE source_id = %(user)s"
                     " AND destination_id = %(friend)s", {"user": user_id, "friend": friend_id, "metadata": metadata})


async def accept_invite(conn: Conn, user_id: str, friend_id: str, metadata: str) -> None:
    """Both rows of a received invite become friends; the accepter's metadata is merged in."""
    await conn.execute(
        "UPDATE user_edge SET state = 0, update_time = now(),"
        " metadata = CASE WHEN source_id = %(user)s THEN metadata || %(metadata)s::jsonb ELSE metadata END"
        " WHERE (source_id = %(user)s AND destination_id = %(friend)s)"
        " OR (source_id = %(friend)s AND destination_id = %(user)s)",
        {"user": user_id, "friend": friend_id, "metadata": metadata})


async def insert_invite(conn: Conn, user_id: str, friend_id: str, position: int, metadata: str) -> None:
    await conn.execute(
        "INSERT INTO user_edge (source_id, destination_id, state, position, update_time, metadata)"
        " VALUES (%(user)s, %(friend)s, 1, %(position)s, now(), %(metadata)s::jsonb),"
        " (%(friend)s, %(user)s, 2, %(position)s, now(), '{}'::jsonb)",
        {"user": user_id, "friend": friend_id, "position": position, "metadata": metadata})
    await add_edge_count(conn, [user_id, friend_id], 1)


async def add_edge_count(conn: Conn, user_ids: Sequence[str], delta: int) -> None:
    await conn.execute("UPDATE users SET edge_count = edge_count + %(delta)s, update_time = now()"
                       " WHERE id = ANY(%(ids)s::uuid[])", {"delta": delta, "ids": list(user_ids)})


async def delete_edge(conn: Conn, source_id: str, destination_id: str) -> None:
    await conn.execute("DELETE FROM user_edge WHERE source_id = %(source)s AND destination_id = %(destination)s",
                       {"source": source_id, "destination": destination_id})


async def set_blocked(conn: Conn, user_id: str, friend_id: str) -> None:
    await conn.execute("UPDATE user_edge SET state = 3, update_time = now()"
                       " WHERE source_id = %(user)s AND destination_id = %(friend)s",
                       {"user": user_id, "friend": friend_id})


async def insert_block(conn: Conn, user_id: str, friend_id: str, position: int) -> None:
    await conn.execute("INSERT INTO user_edge (source_id, destination_id, state, position, update_time)"
                       " VALUES (%(user)s, %(friend)s, 3, %(position)s, now())",
                       {"user": user_id, "friend": friend_id, "position": position})
    await add_edge_count(conn, [user_id], 1)


async def list_edges(db: Database, user_id: str, state: int | None, after: tuple[int, int] | None,
                     limit: int) -> list[dict[str, Any]]:
    """A user's rows with the friend's user columns, by (state, position), from ``after`` on."""
    query: LiteralString = (
        "SELECT " + USER_COLUMNS + ", e.state AS edge_state, e.position, e.update_time AS edge_update_time,"
        " e.metadata AS edge_metadata FROM user_edge e JOIN users u ON u.id = e.destination_id"
        " WHERE e.source_id = %(user)s"
        " AND (%(state)s::smallint IS NULL OR e.state = %(state)s)"
        " AND (%(cursor_state)s::smallint IS NULL OR (e.state, e.position) >= (%(cursor_state)s, %(position)s))"
        " ORDER BY e.state, e.position LIMIT %(limit)s")
    return await db.fetch_dicts(query, {
        "user": user_id, "state": state, "cursor_state": after[0] if after else None,
        "position": after[1] if after else None, "limit": limit})


async def friend_ids(db: Database, user_id: str) -> list[str]:
    """The user's mutual friends, in id order."""
    rows = await db.fetch("SELECT destination_id::text FROM user_edge WHERE source_id = %(user)s AND state = 0"
                          " ORDER BY destination_id", {"user": user_id})
    return [row[0] for row in rows]


async def friends_of(db: Database, friend_id: str, user_id: str, exclude: Sequence[str],
                     after: tuple[str, str] | None, limit: int) -> list[tuple[str, str]]:
    """(friend, their friend) pairs of one friend, leaving out the user and the user's friends."""
    rows = await db.fetch(
        "SELECT source_id::text, destination_id::text FROM user_edge WHERE source_id = %(friend)s AND state = 0"
        " AND destination_id <> %(user)s AND destination_id <> ALL(%(exclude)s::uuid[])"
        " AND (%(after_source)s::uuid IS NULL OR (source_id, destination_id) >= (%(after_source)s, %(after_dest)s))"
        " ORDER BY source_id, destination_id LIMIT %(limit)s",
        {"friend": friend_id, "user": user_id, "exclude": list(exclude), "after_source": after[0] if after else None,
         "after_dest": after[1] if after else None, "limit": limit})
    return [(row[0], row[1]) for row in rows]


async def user_ids_by_username(db: Database, usernames: Sequence[str]) -> list[str]:
    rows = await db.fetch("SELECT id::text FROM users WHERE username = ANY(%(usernames)s::text[])",
                          {"usernames": list(usernames)})
    return [row[0] for row in rows]

