"""SQL of groups: Nakama's ``groups`` and ``group_edge`` tables, laid out as Nakama does.

Writers run inside one transaction that starts with ``lock_group`` (the group row,
FOR UPDATE), so every change to one group's members, from any process, runs one at a
time: member counts and the max-count check stay exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, LiteralString

from psycopg import sql
from psycopg.errors import UniqueViolation
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from nakama_py.db.accounts import USER_COLUMNS
from nakama_py.db.pool import Connection, Database

Conn = Connection
NAME_KEY = "groups_name_key"

GROUP_COLUMNS: LiteralString = (
    "g.id::text AS id, g.creator_id::text AS creator_id, g.name, g.description, g.avatar_url, g.state,"
    " g.edge_count, g.lang_tag, g.max_count, g.metadata, g.create_time, g.update_time")
ENABLED: LiteralString = "g.disable_time = '1970-01-01 00:00:00 UTC'"


class NameInUse(Exception):
    """The unique group name constraint refused a write."""


async def _dicts(conn: Conn, query: LiteralString, params: Sequence[Any] | dict[str, Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def insert_group(conn: Conn, values: dict[str, Any]) -> dict[str, Any]:
    try:
        rows = await _dicts(conn, (
            "INSERT INTO groups AS g (id, creator_id, name, description, avatar_url, state, lang_tag, max_count,"
            " metadata, edge_count) VALUES (%(id)s, %(creator_id)s, %(name)s, %(description)s, %(avatar_url)s,"
            " %(state)s, %(lang_tag)s, %(max_count)s, %(metadata)s::jsonb, 1) RETURNING " + GROUP_COLUMNS), values)
    except UniqueViolation as exc:
        if exc.diag.constraint_name == NAME_KEY:
            raise NameInUse from exc
        raise
    return rows[0]


async def update_group(conn: Conn, group_id: str, values: dict[str, Any]) -> int:
    """Set the given columns (names from the core's fixed list) of an enabled group; rows changed."""
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column)) for column in values)
    query = sql.SQL("UPDATE groups g SET update_time = now(), {} WHERE g.id = %(group_id)s AND " + ENABLED).format(
        assignments)
    try:
        params = {column: Jsonb(value) if isinstance(value, dict) else value for column, value in values.items()}
        cur = await conn.execute(query, {**params, "group_id": group_id})
    except UniqueViolation as exc:
        if exc.diag.constraint_name == NAME_KEY:
            raise NameInUse from exc
        raise
    return cur.rowcount


async def lock_group(conn: Conn, group_id: str) -> dict[str, Any] | None:
    """The enabled group's row, locked until the transaction ends; None when there is none."""
    rows = await _dicts(conn, "SELECT " + GROUP_COLUMNS + " FROM groups g WHERE g.id = %(group)s AND " + ENABLED
                        + " FOR UPDATE", {"group": group_id})
    return rows[0] if rows else None


async def delete_group(conn: Conn, group_id: str) -> None:
    await conn.execute("DELETE FROM groups WHERE id = %(group)s", {"group": group_id})
    await conn.execute("DELETE FROM group_edge WHERE source_id = %(group)s OR destination_id = %(group)s",
                       {"group": group_id})


async def member_state(conn: Conn | Database, group_id: str, user_id: str) -> int | None:
    query: LiteralString = "SELECT state FROM group_edge WHERE source_id = %(group)s AND destination_id = %(user)s"
    params = {"group": group_id, "user": user_id}
    if isinstance(conn, Database):
        value = await conn.fetchval(query, params)
    else:
        cur = await conn.execute(query, params)
        row = await cur.fetchone()
        value = None if row is None else row[0]
    return None if value is None else int(value)


async def state_counts(conn: Conn, group_id: str, except_user: str) -> dict[int, int]:
    cur = await conn.execute("SELECT state, count(*) FROM group_edge WHERE source_id = %(group)s"
                             " AND destination_id <> %(user)s GROUP BY state", {"group": group_id, "user": except_user})
    return {int(row[0]): int(row[1]) for row in await cur.fetchall()}


async def insert_member(conn: Conn, group_id: str, user_id: str, state: int, position: int) -> None:
    """Both rows of a relationship, one position."""
    await conn.execute("INSERT INTO group_edge (position, state, source_id, destination_id)"
                       " VALUES (%(position)s, %(state)s, %(group)s, %(user)s),"
                       " (%(position)s, %(state)s, %(user)s, %(group)s)",
                       {"position": position, "state": state, "group": group_id, "user": user_id})


async def insert_ban(conn: Conn, group_id: str, user_id: str, position: int) -> None:
    """A ban is the group's row alone (Nakama's layout): the user no longer lists the group."""
    await conn.execute("INSERT INTO group_edge (position, state, source_id, destination_id)"
                       " VALUES (%(position)s, 4, %(group)s, %(user)s)",
                       {"position": position, "group": group_id, "user": user_id})


async def set_member_state(conn: Conn, group_id: str, user_id: str, state: int) -> None:
    await conn.execute("UPDATE group_edge SET state = %(state)s, update_time = now() WHERE (source_id = %(group)s AND"
                       " destination_id = %(user)s) OR (source_id = %(user)s AND destination_id = %(group)s)",
                       {"state": state, "group": group_id, "user": user_id})


async def delete_member(conn: Conn, group_id: str, user_id: str) -> None:
    await conn.execute("DELETE FROM group_edge WHERE (source_id = %(group)s AND destination_id = %(user)s)"
                       " OR (source_id = %(user)s AND destination_id = %(group)s)",
                       {"group": group_id, "user": user_id})


async def add_edge_count(conn: Conn, group_id: str, delta: int) -> None:
    await conn.execute("UPDATE groups SET edge_count = edge_count + %(delta)s, update_time = now()"
                       " WHERE id = %(group)s", {"delta": delta, "group": group_id})


async def admin_ids(conn: Conn, group_id: str) -> list[str]:
    cur = await conn.execute("SELECT destination_id::text FROM group_edge WHERE source_id = %(group)s"
                             " AND state <= 1", {"group": group_id})
    return [row[0] for row in await cur.fetchall()]


async def existing_users(conn: Conn, user_ids: Sequence[str]) -> dict[str, str]:
    """id -> username of the users that exist."""
    cur = await conn.execute("SELECT id::text, username FROM users WHERE id = ANY(%(ids)s::uuid[])",
                             {"ids": list(user_ids)})
    return {row[0]: row[1] for row in await cur.fetchall()}


# --- reading -------------------------------------------------------------------------------------------

async def group_exists(db: Database, group_id: str) -> bool:
    return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM groups g WHERE g.id = %(group)s AND " + ENABLED + ")",
                                  {"group": group_id}))


async def groups_by_id(db: Database, group_ids: Sequence[str]) -> list[dict[str, Any]]:
    return await db.fetch_dicts("SELECT " + GROUP_COLUMNS + " FROM groups g WHERE g.id = ANY(%(ids)s::uuid[]) AND "
                                + ENABLED, {"ids": list(group_ids)})


async def list_members(db: Database, group_id: str, state: int | None, after: tuple[int, int] | None,
                       limit: int) -> list[dict[str, Any]]:
    return await db.fetch_dicts(
        "SELECT " + USER_COLUMNS + ", e.state AS edge_state, e.position FROM group_edge e"
        " JOIN users u ON u.id = e.destination_id WHERE e.source_id = %(group)s"
        # banned users are listed only when asked for by state (4), as Nakama does
        " AND (e.state = %(state)s OR (%(state)s::smallint IS NULL AND e.state <= 3))"
        " AND (%(cursor_state)s::smallint IS NULL OR (e.state, e.position) >= (%(cursor_state)s, %(position)s))"
        " ORDER BY e.state, e.position LIMIT %(limit)s",
        {"group": group_id, "state": state, "cursor_state": after[0] if after else None,
         "position": after[1] if after else None, "limit": limit})


async def list_user_groups(db: Database, user_id: str, state: int | None, after: tuple[int, int] | None,
                           limit: int) -> list[dict[str, Any]]:
    return await db.fetch_dicts(
        "SELECT " + GROUP_COLUMNS + ", e.state AS edge_state, e.position FROM group_edge e"
        " JOIN groups g ON g.id = e.destination_id WHERE e.source_id = %(user)s AND " + ENABLED +
        " AND (%(state)s::smallint IS NULL OR e.state = %(state)s)"
        " AND (%(cursor_state)s::smallint IS NULL OR (e.state, e.position) >= (%(cursor_state)s, %(position)s))"
        " ORDER BY e.state, e.position LIMIT %(limit)s",
        {"user": user_id, "state": state, "cursor_state": after[0] if after else None,
         "position": after[1] if after else None, "limit": limit})


async def list_groups_by_name(db: Database, pattern: str, after_name: str | None, limit: int) -> list[dict[str, Any]]:
    return await db.fetch_dicts(
        "SELECT " + GROUP_COLUMNS + " FROM groups g WHERE g.name ILIKE %(pattern)s"
        " AND (%(after)s::text IS NULL OR g.name > %(after)s) ORDER BY g.name LIMIT %(limit)s",
        {"pattern": pattern, "after": after_name, "limit": limit})


async def list_groups(db: Database, *, state: int | None, lang_tag: str | None, max_members: int | None,
                      after_id: str | None, limit: int) -> list[dict[str, Any]]:
    return await db.fetch_dicts(
        "SELECT " + GROUP_COLUMNS + " FROM groups g WHERE " + ENABLED +
        " AND (%(state)s::smallint IS NULL OR g.state = %(state)s)"
        " AND (%(lang)s::text IS NULL OR g.lang_tag = %(lang)s)"
        " AND (%(members)s::int IS NULL OR g.edge_count <= %(members)s)"
        " AND (%(after)s::uuid IS NULL OR g.id > %(after)s) ORDER BY g.id LIMIT %(limit)s",
        {"state": state, "lang": lang_tag, "members": max_members, "after": after_id, "limit": limit})


async def user_memberships(conn: Conn, user_id: str) -> list[tuple[str, int]]:
    """(group id, role) of every group the user has a relationship with, the groups locked in id order."""
    cur = await conn.execute(
        "SELECT g.id::text, e.state FROM group_edge e JOIN groups g ON g.id = e.source_id"
        " WHERE e.destination_id = %(user)s ORDER BY g.id FOR UPDATE OF g", {"user": user_id})
    return [(row[0], int(row[1])) for row in await cur.fetchall()]
