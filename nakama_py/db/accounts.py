"""SQL for users, their devices and tombstones (Nakama's tables ``users``, ``user_device``, ``user_tombstone``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, LiteralString, NamedTuple

from psycopg import sql
from psycopg.types.json import Jsonb

from nakama_py.db.errors import UniqueViolation, map_errors
from nakama_py.db.pool import Connection, Database

IdentityColumn = Literal["custom_id", "apple_id", "facebook_id", "facebook_instant_game_id",
                         "gamecenter_id", "google_id", "steam_id"]
_IDENTITY_COLUMNS: tuple[LiteralString, ...] = (
    "custom_id", "apple_id", "facebook_id", "facebook_instant_game_id", "gamecenter_id", "google_id", "steam_id")

USERNAME_KEY = "users_username_key"
EMAIL_KEY = "users_email_key"
DEVICE_KEY = "user_device_pkey"


class Identity(NamedTuple):
    """The user a sign-in identifier leads to; every query below selects these columns."""

    user_id: str
    username: str
    disable_time: datetime
    created: bool = False  # by this statement
    password: bytes | None = None  # selected only where a password is checked


# The columns of an ``Identity`` found (not created), without its password.
_FOUND: LiteralString = "id::text, username, disable_time, false, NULL::bytea"


# --- sign-in lookups and creation ---------------------------------------------------------------

_FIND_BY: dict[str, LiteralString] = {
    column: "SELECT " + _FOUND + " FROM users WHERE " + column + " = %(value)s"
    for column in _IDENTITY_COLUMNS
}

# One statement (so one round trip, and atomic): the user holding the identifier, or a new one.
_FIND_OR_CREATE: dict[str, LiteralString] = {
    column: (
        "WITH found AS (SELECT id, username, disable_time FROM users WHERE " + column + " = %(value)s),"
        " created AS ("
        "  INSERT INTO users (id, username, " + column + ", display_name, avatar_url, create_time, update_time)"
        "  SELECT %(user_id)s::uuid, %(username)s, %(value)s, nullif(%(display_name)s, ''),"
        "         nullif(%(avatar_url)s, ''), now(), now()"
        "  WHERE NOT EXISTS (SELECT 1 FROM found)"
        "  RETURNING id, username, disable_time)"
        " SELECT id::text, username, disable_time, false, NULL::bytea FROM found"
        " UNION ALL SELECT id::text, username, disable_time, true, NULL::bytea FROM created"
    )
    for column in _IDENTITY_COLUMNS
}


async def find_by_identity(db: Database, column: IdentityColumn, value: str) -> Identity | None:
    return await db.fetchrow_as(Identity._make, _FIND_BY[column], {"value": value})


async def find_or_create_by_identity(db: Database, column: IdentityColumn, value: str, *, user_id: str,
                                     username: str, display_name: str = "", avatar_url: str = "") -> Identity:
    """Raises ``UniqueViolation`` when a concurrent sign-up took the identifier or the username first."""
    # Sign-ups arriving together share one transaction (db/batching.py).
    row = await db.fetchrow_grouped(_FIND_OR_CREATE[column], {
        "value": value, "user_id": user_id, "username": username,
        "display_name": display_name, "avatar_url": avatar_url}, order=(column, value))
    assert row is not None
    return Identity._make(row)


_FIND_BY_DEVICE: LiteralString = (
    "SELECT u.id::text, u.username, u.disable_time, false, NULL::bytea"
    " FROM user_device d JOIN users u ON u.id = d.user_id WHERE d.id = %(device_id)s")

# The new user and its device row are written by one statement, so they exist together or not at all.
_FIND_OR_CREATE_BY_DEVICE: LiteralString = (
    "WITH found AS ("
    "  SELECT u.id, u.username, u.disable_time FROM user_device d JOIN users u ON u.id = d.user_id"
    "  WHERE d.id = %(device_id)s),"
    " created AS ("
    "  INSERT INTO users (id, username, create_time, update_time)"
    "  SELECT %(user_id)s::uuid, %(username)s, now(), now() WHERE NOT EXISTS (SELECT 1 FROM found)"
    "  RETURNING id, username, disable_time),"
    " device AS (INSERT INTO user_device (id, user_id) SELECT %(device_id)s, id FROM created)"
    " SELECT id::text, username, disable_time, false, NULL::bytea FROM found"
    " UNION ALL SELECT id::text, username, disable_time, true, NULL::bytea FROM created"
)


async def find_by_device(db: Database, device_id: str) -> Identity | None:
    return await db.fetchrow_as(Identity._make, _FIND_BY_DEVICE, {"device_id": device_id})


async def find_or_create_by_device(db: Database, device_id: str, *, user_id: str, username: str) -> Identity:
    """Raises ``UniqueViolation`` when a concurrent sign-up took the device or the username first."""
    row = await db.fetchrow_grouped(_FIND_OR_CREATE_BY_DEVICE,
                                    {"device_id": device_id, "user_id": user_id, "username": username},
                                    order=("device", device_id))
    assert row is not None
    return Identity._make(row)


async def find_by_email(db: Database, email: str) -> Identity | None:
    return await db.fetchrow_as(
        Identity._make, "SELECT id::text, username, disable_time, false, password FROM users"
        " WHERE email = %(email)s", {"email": email})


async def find_by_username(db: Database, username: str) -> Identity | None:
    return await db.fetchrow_as(
        Identity._make, "SELECT id::text, username, disable_time, false, password FROM users"
        " WHERE username = %(username)s", {"username": username})


async def create_email_user(db: Database, *, user_id: str, username: str, email: str, password: bytes) -> Identity:
    identity = await db.fetchrow_as(
        Identity._make, "INSERT INTO users (id, username, email, password, create_time, update_time)"
        " VALUES (%(user_id)s, %(username)s, %(email)s, %(password)s, now(), now())"
        " RETURNING id::text, username, disable_time, true, NULL::bytea",
        {"user_id": user_id, "username": username, "email": email, "password": password})
    assert identity is not None
    return identity


async def import_email(db: Database, user_id: str, email: str) -> bool:
    """Give a new social account the provider's email, unless another account has it."""
    try:
        await db.execute("UPDATE users SET email = %(email)s WHERE id = %(user_id)s",
                         {"email": email, "user_id": user_id})
    except UniqueViolation as exc:
        if exc.constraint == EMAIL_KEY:
            return False
        raise
    return True


class UserStanding(NamedTuple):
    username: str
    disable_time: datetime


async def username_and_disable_time(db: Database, user_id: str) -> UserStanding | None:
    return await db.fetchrow_as(UserStanding._make, "SELECT username, disable_time FROM users WHERE id = %(user_id)s",
                                {"user_id": user_id})


# --- reading accounts and users ------------------------------------------------------------------

USER_COLUMNS: LiteralString = (
    "u.id::text AS id, u.username, u.display_name, u.avatar_url, u.lang_tag, u.location, u.timezone,"
    " u.metadata, u.facebook_id, u.google_id, u.gamecenter_id, u.steam_id, u.facebook_instant_game_id,"
    " u.apple_id, u.edge_count, u.create_time, u.update_time")


async def account_rows(db: Database, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The accounts found, by user id (canonical text form)."""
    rows = await db.fetch_dicts(
        "SELECT " + USER_COLUMNS + ", u.wallet, u.email, u.custom_id, u.verify_time, u.disable_time,"
        " array(SELECT d.id FROM user_device d WHERE d.user_id = u.id ORDER BY d.id) AS devices"
        " FROM users u WHERE u.id = ANY(%(user_ids)s::uuid[])", {"user_ids": user_ids})
    return {row["id"]: row for row in rows}


async def user_rows(db: Database, ids: Sequence[str], usernames: Sequence[str],
                    facebook_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    return await db.fetch_dicts(
        "SELECT " + USER_COLUMNS + " FROM users u"
        " WHERE u.id = ANY(%(ids)s::uuid[]) OR u.username = ANY(%(usernames)s::text[])"
        " OR u.facebook_id = ANY(%(facebook_ids)s::text[])",
        {"ids": list(ids), "usernames": list(usernames), "facebook_ids": list(facebook_ids)})


# --- updating and deleting --------------------------------------------------------------------------

UPDATABLE_COLUMNS = ("username", "display_name", "avatar_url", "lang_tag", "location", "timezone", "metadata")


async def update_user(db: Database, user_id: str, values: dict[str, Any]) -> None:
    """Set the given columns (None writes NULL); nothing is written when no value differs."""
    assignments, differences = [], []
    params: dict[str, Any] = {"user_id": user_id}
    for column, value in values.items():
        if column not in UPDATABLE_COLUMNS:
            raise ValueError(f"not an updatable column: {column}")
        params[column] = Jsonb(value) if column == "metadata" else value
        assignments.append(sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column)))
        differences.append(sql.SQL("{} IS DISTINCT FROM {}").format(sql.Identifier(column), sql.Placeholder(column)))
    query = sql.SQL("UPDATE users SET update_time = now(), {} WHERE id = {} AND ({})").format(
        sql.SQL(", ").join(assignments), sql.Placeholder("user_id"), sql.SQL(" OR ").join(differences))
    async with db.connection() as conn:
        await conn.execute(query, params)


async def delete_user(conn: Connection, user_id: str) -> bool:
    """Delete the user; devices, storage, friends, notifications and wallet ledger go with it (cascades)."""
    with map_errors():
        cur = await conn.execute("DELETE FROM users WHERE id = %(user_id)s", {"user_id": user_id})
    return cur.rowcount > 0


async def insert_tombstone(conn: Connection, user_id: str) -> None:
    with map_errors():
        await conn.execute("INSERT INTO user_tombstone (user_id) VALUES (%(user_id)s)"
                           " ON CONFLICT (user_id) DO NOTHING", {"user_id": user_id})


# --- linking --------------------------------------------------------------------------------------


async def link_custom(db: Database, user_id: str, custom_id: str) -> bool:
    """False when another account holds the custom ID (or the user does not exist)."""
    touched = await db.execute(
        "UPDATE users SET custom_id = %(custom_id)s, update_time = now()"
        " WHERE id = %(user_id)s"
        " AND NOT EXISTS (SELECT 1 FROM users WHERE custom_id = %(custom_id)s AND id <> %(user_id)s)",
        {"user_id": user_id, "custom_id": custom_id})
    return touched > 0


async def link_email(db: Database, user_id: str, email: str, password: bytes | None) -> bool:
    """False when another account holds the email (or the user does not exist)."""
    touched = await db.execute(
        "UPDATE users SET email = %(email)s, password = %(password)s, update_time = now()"
        " WHERE id = %(user_id)s"
        " AND NOT EXISTS (SELECT 1 FROM users WHERE email = %(email)s AND id <> %(user_id)s)",
        {"user_id": user_id, "email": email, "password": password})
    return touched > 0


async def link_device(db: Database, user_id: str, device_id: str) -> None:
    """Raises ``UniqueViolation`` when another account holds the device."""
    async with db.transaction() as conn:
        device = {"device_id": device_id, "user_id": user_id}
        cur = await conn.execute("SELECT 1 FROM user_device WHERE id = %(device_id)s AND user_id = %(user_id)s",
                                 device)
        if await cur.fetchone() is None:
            await conn.execute("INSERT INTO user_device (id, user_id) VALUES (%(device_id)s, %(user_id)s)", device)
        await conn.execute("UPDATE users SET update_time = now() WHERE id = %(user_id)s", device)


# --- unlinking: each runs with the user's row locked, so two concurrent unlinks cannot both remove
# what they each thought was not the last way to sign in.

_OTHER_THAN_CUSTOM: LiteralString = (
    "(apple_id IS NOT NULL OR facebook_id IS NOT NULL OR facebook_instant_game_id IS NOT NULL"
    " OR google_id IS NOT NULL OR gamecenter_id IS NOT NULL OR steam_id IS NOT NULL OR email IS NOT NULL"
    " OR EXISTS (SELECT 1 FROM user_device WHERE user_id = %(user_id)s))")
_OTHER_THAN_EMAIL: LiteralString = (
    "(apple_id IS NOT NULL OR facebook_id IS NOT NULL OR facebook_instant_game_id IS NOT NULL"
    " OR google_id IS NOT NULL OR gamecenter_id IS NOT NULL OR steam_id IS NOT NULL OR custom_id IS NOT NULL"
    " OR EXISTS (SELECT 1 FROM user_device WHERE user_id = %(user_id)s))")
_OTHER_THAN_DEVICE: LiteralString = (
    "(EXISTS (SELECT 1 FROM users WHERE id = %(user_id)s AND (apple_id IS NOT NULL OR facebook_id IS NOT NULL"
    " OR facebook_instant_game_id IS NOT NULL OR google_id IS NOT NULL OR gamecenter_id IS NOT NULL"
    " OR steam_id IS NOT NULL OR email IS NOT NULL OR custom_id IS NOT NULL))"
    " OR EXISTS (SELECT 1 FROM user_device WHERE user_id = %(user_id)s AND id <> %(device_id)s))")


async def _lock_user(conn: Connection, user_id: str) -> None:
    await conn.execute("SELECT 1 FROM users WHERE id = %(user_id)s FOR UPDATE", {"user_id": user_id})


async def _unlink(db: Database, user_id: str, statement: LiteralString, params: dict[str, str]) -> bool:
    """Run an unlink statement under the user's row lock; whether it changed the user."""
    async with db.transaction() as conn:
        await _lock_user(conn, user_id)
        cur = await conn.execute(statement, {"user_id": user_id, **params})
        return cur.rowcount > 0


async def unlink_custom(db: Database, user_id: str, custom_id: str) -> bool:
    """False when the user does not exist, holds another custom ID, or has no other way to sign in."""
    return await _unlink(db, user_id, (
        "UPDATE users SET custom_id = NULL, update_time = now() WHERE id = %(user_id)s"
        " AND (%(custom_id)s::text = '' OR custom_id = %(custom_id)s) AND " + _OTHER_THAN_CUSTOM),
        {"custom_id": custom_id})


async def unlink_email(db: Database, user_id: str, email: str) -> bool:
    """Removes the email and the password; False as for ``unlink_custom``."""
    return await _unlink(db, user_id, (
        "UPDATE users SET email = NULL, password = NULL, update_time = now() WHERE id = %(user_id)s"
        " AND (%(email)s::text = '' OR email = %(email)s) AND " + _OTHER_THAN_EMAIL),
        {"email": email})


async def unlink_device(db: Database, user_id: str, device_id: str) -> bool:
    """False when the device is not the user's, or it is the user's last way to sign in."""
    async with db.transaction() as conn:
        await _lock_user(conn, user_id)
        cur = await conn.execute(
            "DELETE FROM user_device WHERE id = %(device_id)s AND user_id = %(user_id)s AND " + _OTHER_THAN_DEVICE,
            {"user_id": user_id, "device_id": device_id})
        if cur.rowcount == 0:
            return False
        await conn.execute("UPDATE users SET update_time = now() WHERE id = %(user_id)s", {"user_id": user_id})
        return True



# --- the console: finding accounts, bans ------------------------------------------------------------


async def find_user_ids(db: Database, text: str, limit: int) -> list[str]:
    """Users whose id, username, custom id, email or a device id is ``text``; then usernames starting with it."""
    rows = await db.fetch(
        "SELECT id::text FROM ("
        "  SELECT u.id, 0 AS exact, u.username FROM users u"
        "   WHERE u.id::text = %(text)s OR u.username = %(text)s OR u.custom_id = %(text)s OR u.email = %(text)s"
        "  UNION SELECT d.user_id, 0, '' FROM user_device d WHERE d.id = %(text)s"
        "  UNION SELECT u.id, 1, u.username FROM users u WHERE u.username LIKE %(prefix)s"
        " ) found WHERE id <> '00000000-0000-0000-0000-000000000000'"
        " GROUP BY id ORDER BY min(exact), min(username) LIMIT %(limit)s",
        {"text": text, "prefix": text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",
         "limit": limit})
    return [row[0] for row in rows]


async def recent_user_ids(db: Database, limit: int) -> list[str]:
    rows = await db.fetch(
        "SELECT id::text FROM users WHERE id <> '00000000-0000-0000-0000-000000000000'"
        " ORDER BY create_time DESC, id LIMIT %s", (limit,))
    return [row[0] for row in rows]


async def set_banned(db: Database, user_ids: Sequence[str], banned: bool) -> list[str]:
    """Set (now) or clear (the epoch, Nakama's "never") the users' ban time; the ids of those that exist."""
    rows = await db.fetch(
        "UPDATE users SET disable_time = CASE WHEN %s THEN now() ELSE '1970-01-01 00:00:00+00' END,"
        " update_time = now() WHERE id = ANY(%s::uuid[]) RETURNING id::text", (banned, list(user_ids)))
    return [row[0] for row in rows]
