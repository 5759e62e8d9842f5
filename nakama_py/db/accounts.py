"""SQL for users, their devices and tombstones (Nakama's tables ``users``, ``user_device``, ``user_tombstone``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, LiteralString

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb

from nakama_py.db.pool import Database

# Every failure of the database a caller may want to answer with its own message.
DatabaseError = psycopg.Error

IdentityColumn = Literal["custom_id", "apple_id", "facebook_id", "facebook_instant_game_id",
                         "gamecenter_id", "google_id", "steam_id"]
_IDENTITY_COLUMNS: tuple[LiteralString, ...] = (
    "custom_id", "apple_id", "facebook_id", "facebook_instant_game_id", "gamecenter_id", "google_id", "steam_id")

USERNAME_KEY = "users_username_key"
EMAIL_KEY = "users_email_key"
DEVICE_KEY = "user_device_pkey"


class Conflict(Exception):
    """A unique constraint refused a write; ``constraint`` names it (e.g. ``users_username_key``)."""

    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


@asynccontextmanager
async def _conflicts() -> AsyncIterator[None]:
    try:
        yield
    except UniqueViolation as exc:
        raise Conflict(exc.diag.constraint_name or "") from exc


@dataclass(frozen=True, slots=True)
class Identity:
    """The user a sign-in identifier leads to."""

    user_id: str
    username: str
    disable_time: datetime
    created: bool = False
    password: bytes | None = None


def _identity(row: tuple[Any, ...] | None) -> Identity | None:
    if row is None:
        return None
    return Identity(row[0], row[1], row[2], bool(row[3]) if len(row) > 3 else False)


def _with_password(row: tuple[Any, ...] | None) -> Identity | None:
    if row is None:
        return None
    return Identity(row[0], row[1], row[2], False, None if row[3] is None else bytes(row[3]))


# --- sign-in lookups and creation ---------------------------------------------------------------

_FIND_BY: dict[str, LiteralString] = {
    column: "SELECT id::text, username, disable_time FROM users WHERE " + column + " = %s"
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
        " SELECT id::text, username, disable_time, false FROM found"
        " UNION ALL SELECT id::text, username, disable_time, true FROM created"
    )
    for column in _IDENTITY_COLUMNS
}


async def find_by_identity(db: Database, column: IdentityColumn, value: str) -> Identity | None:
    return _identity(await db.fetchrow(_FIND_BY[column], (value,)))


async def find_or_create_by_identity(db: Database, column: IdentityColumn, value: str, *, user_id: str,
                                     username: str, display_name: str = "", avatar_url: str = "") -> Identity:
    """Raises ``Conflict`` when a concurrent sign-up took the identifier or the username first."""
    async with _conflicts():
        # Sign-ups arriving together share one transaction (db/batching.py).
        row = await db.fetchrow_grouped(_FIND_OR_CREATE[column], {
            "value": value, "user_id": user_id, "username": username,
            "display_name": display_name, "avatar_url": avatar_url}, order=(column, value))
    identity = _identity(row)
    assert identity is not None
    return identity


_FIND_BY_DEVICE: LiteralString = (
    "SELECT u.id::text, u.username, u.disable_time FROM user_device d JOIN users u ON u.id = d.user_id"
    " WHERE d.id = %s")

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
    " SELECT id::text, username, disable_time, false FROM found"
    " UNION ALL SELECT id::text, username, disable_time, true FROM created"
)


async def find_by_device(db: Database, device_id: str) -> Identity | None:
    return _identity(await db.fetchrow(_FIND_BY_DEVICE, (device_id,)))


async def find_or_create_by_device(db: Database, device_id: str, *, user_id: str, username: str) -> Identity:
    """Raises ``Conflict`` when a concurrent sign-up took the device or the username first."""
    async with _conflicts():
        row = await db.fetchrow_grouped(_FIND_OR_CREATE_BY_DEVICE,
                                        {"device_id": device_id, "user_id": user_id, "username": username},
                                        order=("device", device_id))
    identity = _identity(row)
    assert identity is not None
    return identity


async def find_by_email(db: Database, email: str) -> Identity | None:
    return _with_password(await db.fetchrow(
        "SELECT id::text, username, disable_time, password FROM users WHERE email = %s", (email,)))


async def find_by_username(db: Database, username: str) -> Identity | None:
    return _with_password(await db.fetchrow(
        "SELECT id::text, username, disable_time, password FROM users WHERE username = %s", (username,)))


async def create_email_user(db: Database, *, user_id: str, username: str, email: str, password: bytes) -> Identity:
    async with _conflicts():
        row = await db.fetchrow(
            "INSERT INTO users (id, username, email, password, create_time, update_time)"
            " VALUES (%s, %s, %s, %s, now(), now()) RETURNING id::text, username, disable_time, true",
            (user_id, username, email, password))
    identity = _identity(row)
    assert identity is not None
    return identity


async def import_email(db: Database, user_id: str, email: str) -> bool:
    """Give a new social account the provider's email, unless another account has it."""
    try:
        async with _conflicts():
            await db.execute("UPDATE users SET email = %s WHERE id = %s", (email, user_id))
    except Conflict as exc:
        if exc.constraint == EMAIL_KEY:
            return False
        raise
    return True


async def username_and_disable_time(db: Database, user_id: str) -> tuple[str, datetime] | None:
    row = await db.fetchrow("SELECT username, disable_time FROM users WHERE id = %s", (user_id,))
    return None if row is None else (row[0], row[1])


# --- reading accounts and users ------------------------------------------------------------------

USER_COLUMNS: LiteralString = (
    "u.id::text AS id, u.username, u.display_name, u.avatar_url, u.lang_tag, u.location, u.timezone,"
    " u.metadata, u.facebook_id, u.google_id, u.gamecenter_id, u.steam_id, u.facebook_instant_game_id,"
    " u.apple_id, u.edge_count, u.create_time, u.update_time")


async def account_row(db: Database, user_id: str) -> dict[str, Any] | None:
    rows = await db.fetch_dicts(
        "SELECT " + USER_COLUMNS + ", u.wallet, u.email, u.custom_id, u.verify_time, u.disable_time,"
        " array(SELECT d.id FROM user_device d WHERE d.user_id = u.id ORDER BY d.id) AS devices"
        " FROM users u WHERE u.id = %s", (user_id,))
    return rows[0] if rows else None


async def user_rows(db: Database, ids: Sequence[str], usernames: Sequence[str],
                    facebook_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    return await db.fetch_dicts(
        "SELECT " + USER_COLUMNS + " FROM users u WHERE u.id = ANY(%s::uuid[]) OR u.username = ANY(%s::text[])"
        " OR u.facebook_id = ANY(%s::text[])", (list(ids), list(usernames), list(facebook_ids)))


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
    async with db.connection() as conn, _conflicts():
        await conn.execute(query, params)


async def delete_user(conn: AsyncConnection[Any], user_id: str) -> bool:
    """Delete the user; devices, storage, friends, notifications and wallet ledger go with it (cascades)."""
    cur = await conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
    return cur.rowcount > 0


async def insert_tombstone(conn: AsyncConnection[Any], user_id: str) -> None:
    await conn.execute("INSERT INTO user_tombstone (user_id) VALUES (%s) ON CONFLICT (user_id) DO NOTHING",
                       (user_id,))


# --- linking --------------------------------------------------------------------------------------


async def link_custom(db: Database, user_id: str, custom_id: str) -> bool:
    """False when another account holds the custom ID (or the user does not exist)."""
    async with _conflicts():
        touched = await db.execute(
            "UPDATE users SET custom_id = %(custom_id)s, update_time = now()"
            " WHERE id = %(user_id)s"
            " AND NOT EXISTS (SELECT 1 FROM users WHERE custom_id = %(custom_id)s AND id <> %(user_id)s)",
            {"user_id": user_id, "custom_id": custom_id})
    return touched > 0


async def link_email(db: Database, user_id: str, email: str, password: bytes | None) -> bool:
    """False when another account holds the email (or the user does not exist)."""
    async with _conflicts():
        touched = await db.execute(
            "UPDATE users SET email = %(email)s, password = %(password)s, update_time = now()"
            " WHERE id = %(user_id)s"
            " AND NOT EXISTS (SELECT 1 FROM users WHERE email = %(email)s AND id <> %(user_id)s)",
            {"user_id": user_id, "email": email, "password": password})
    return touched > 0


async def link_device(db: Database, user_id: str, device_id: str) -> None:
    """Raises ``Conflict`` when another account holds the device."""
    async with db.transaction() as conn:
        cur = await conn.execute("SELECT 1 FROM user_device WHERE id = %s AND user_id = %s", (device_id, user_id))
        if await cur.fetchone() is None:
            async with _conflicts():
                await conn.execute("INSERT INTO user_device (id, user_id) VALUES (%s, %s)", (device_id, user_id))
        await conn.execute("UPDATE users SET update_time = now() WHERE id = %s", (user_id,))


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


async def _lock_user(conn: AsyncConnection[Any], user_id: str) -> None:
    await conn.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user_id,))


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
        await conn.execute("UPDATE users SET update_time = now() WHERE id = %s", (user_id,))
        return True

