"""Reading groups: a group's members, a user's groups, and the group list with Nakama's filters.

Pages continue with an opaque cursor: (role, position) for memberships, the last name or
id for the group list (a cursor made under another filter is refused).
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from typing import Any

import orjson

from nakama_py.core.account_types import user_from_row
from nakama_py.core.group_types import (
    BANNED,
    CLOSED,
    OPEN,
    SUPERADMIN,
    Group,
    GroupUser,
    UserGroup,
    group_from_row,
    group_id_of,
)
from nakama_py.core.online import OnlineUsers
from nakama_py.db import groups as sql
from nakama_py.db.errors import DatabaseError
from nakama_py.db.pool import Database
from nakama_py.errors import internal, invalid_argument

log = logging.getLogger("nakama_py.groups")

LIST_LIMIT_MAX = 100


def _encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def _decode_cursor(cursor: str, message: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise invalid_argument(message) from None


def _edge_cursor(cursor: str | None, state: int | None) -> tuple[int, int] | None:
    """(state, position) of the first row of the next page; a filter change invalidates it."""
    if not cursor:
        return None
    value = _decode_cursor(cursor, "Cursor is invalid.")
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, int) for v in value) \
            or (state is not None and value[0] != state):
        raise invalid_argument("Cursor is invalid.")
    return value[0], value[1]


def _check_list_args(limit: int, state: int | None) -> None:
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise invalid_argument("Invalid limit - limit must be between 1 and 100.")
    if state is not None and not SUPERADMIN <= state <= BANNED:
        raise invalid_argument("Invalid state - state must be between 0 and 4.")


class GroupLists:
    def __init__(self, db: Database, online: OnlineUsers) -> None:
        self.db = db
        self.online = online

    async def list_members(self, group_id: str, *, limit: int = LIST_LIMIT_MAX, state: int | None = None,
                           cursor: str | None = None) -> tuple[list[GroupUser], str | None]:
        """Members by role then arrival; banned users (4) only when ``state`` asks for them."""
        group_id = group_id_of(group_id)
        _check_list_args(limit, state)
        after = _edge_cursor(cursor, state)
        try:
            if not await sql.group_exists(self.db, group_id):
                raise internal("Error while trying to list users in a group.")  # Nakama answers this
            rows = await sql.list_members(self.db, group_id, state, after, limit + 1)
        except DatabaseError:
            log.exception("error listing group users")
            raise internal("Error while trying to list users in a group.") from None
        next_cursor = _encode_cursor([rows[limit]["edge_state"], rows[limit]["position"]]) \
            if len(rows) > limit else None
        rows = rows[:limit]
        users = self.online.mark([user_from_row(row) for row in rows])
        return [GroupUser(user, int(row["edge_state"])) for user, row in zip(users, rows, strict=True)], next_cursor

    async def list_user_groups(self, user_id: str, *, limit: int = LIST_LIMIT_MAX, state: int | None = None,
                               cursor: str | None = None) -> tuple[list[UserGroup], str | None]:
        if not user_id:
            raise invalid_argument("User ID must be set.")
        try:
            user_id = str(uuid.UUID(user_id))
        except ValueError:
            raise invalid_argument("Group ID must be a valid ID.") from None  # sic: Nakama's message
        _check_list_args(limit, state)
        after = _edge_cursor(cursor, state)
        try:
            rows = await sql.list_user_groups(self.db, user_id, state, after, limit + 1)
        except DatabaseError:
            log.exception("error listing user groups")
            raise internal("Error while trying to list groups for a user.") from None
        next_cursor = _encode_cursor([rows[limit]["edge_state"], rows[limit]["position"]]) \
            if len(rows) > limit else None
        return [UserGroup(group_from_row(row), int(row["edge_state"])) for row in rows[:limit]], next_cursor

    async def list_groups(self, *, name: str = "", lang_tag: str = "", open: bool | None = None,
                          members: int | None = None, limit: int = 1,
                          cursor: str | None = None) -> tuple[list[Group], str | None]:
        """Groups by name prefix (leading ``%`` ignored, ``%`` inside is a wildcard, any case) or by
        language, open/closed and at most ``members`` members; the two kinds of filter do not mix."""
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise invalid_argument("Invalid limit - limit must be between 1 and 100.")
        if name and (lang_tag or open is not None or members is not None):
            raise invalid_argument("name filter cannot be combined with any other filter")
        after = _decode_cursor(cursor, "Malformed cursor was used.") if cursor else None
        if after is not None and not isinstance(after, str):
            raise invalid_argument("Malformed cursor was used.")
        if "\x00" in name or "\x00" in lang_tag:
            return [], None  # no stored text holds NUL (PostgreSQL refuses it): nothing matches
        try:
            if name:
                rows = await sql.list_groups_by_name(self.db, name.lstrip("% "), after, limit + 1)
                key = "name"
            else:
                if after is not None:
                    try:
                        uuid.UUID(after)
                    except ValueError:
                        raise invalid_argument("Malformed cursor was used.") from None
                rows = await sql.list_groups(self.db, state=None if open is None else (OPEN if open else CLOSED),
                                             lang_tag=lang_tag or None, max_members=members, after_id=after,
                                             limit=limit + 1)
                key = "id"
        except DatabaseError:
            log.exception("error listing groups")
            raise internal("Error while trying to list groups.") from None
        next_cursor = _encode_cursor(rows[limit - 1][key]) if len(rows) > limit else None
        return [group_from_row(row) for row in rows[:limit]], next_cursor
