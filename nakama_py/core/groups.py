"""Groups (clans, guilds): membership roles and their rules, as Nakama keeps them.

Roles (Nakama's numbers): 0 superadmin, 1 admin, 2 member, 3 join request, 4 banned.
``edge_count`` counts roles 0-2 and never passes ``max_count``. Every change to a
group's members locks the group row first (one transaction), so concurrent joins of a
nearly full group, in any processes, admit exactly as many as there are places.

``caller`` is the acting user for client calls, ``None`` for the runtime (which acts
as a superadmin of every group, like Nakama's nil user). Notifications (Nakama's codes):
-4 added to a group, -5 join request (to the group's admins).
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from nakama_py.core.account_types import User, user_from_row
from nakama_py.core.notifications import NotificationSend, NotificationService
from nakama_py.core.online import OnlineUsers
from nakama_py.db import groups as sql
from nakama_py.db.accounts import DatabaseError
from nakama_py.db.groups import NameInUse
from nakama_py.db.pool import Database
from nakama_py.errors import Code, NakamaError, internal, invalid_argument, not_found

log = logging.getLogger("nakama_py.groups")

SUPERADMIN, ADMIN, MEMBER, JOIN_REQUEST, BANNED = 0, 1, 2, 3, 4
OPEN, CLOSED = 0, 1
LIST_LIMIT_MAX = 100
DEFAULT_MAX_COUNT = 100

CODE_GROUP_ADD = -4
CODE_GROUP_JOIN_REQUEST = -5

DENIED = "Group not found or permission denied."


@dataclass(frozen=True, slots=True)
class Group:
    """Nakama's api.Group."""

    id: str
    creator_id: str
    name: str
    description: str | None
    avatar_url: str | None
    lang_tag: str
    metadata: dict[str, Any]
    open: bool
    edge_count: int
    max_count: int
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class GroupUser:
    user: User
    state: int


@dataclass(frozen=True, slots=True)
class UserGroup:
    group: Group
    state: int


def group_from_row(row: dict[str, Any]) -> Group:
    return Group(row["id"], row["creator_id"], row["name"], row["description"], row["avatar_url"], row["lang_tag"],
                 row["metadata"] if isinstance(row["metadata"], dict) else {}, row["state"] == OPEN,
                 row["edge_count"], row["max_count"], row["create_time"], row["update_time"])


def _full() -> NakamaError:
    return invalid_argument("Group is full.")


def group_id_of(group_id: str) -> str:
    """A group id from a request: set and a UUID."""
    if not group_id:
        raise invalid_argument("Group ID must be set.")
    try:
        return str(uuid.UUID(group_id))
    except ValueError:
        raise invalid_argument("Group ID must be a valid ID.") from None


def user_ids_of(user_ids: Sequence[str]) -> list[str]:
    out = []
    for user_id in user_ids:
        try:
            parsed = uuid.UUID(str(user_id))
        except ValueError:
            parsed = uuid.UUID(int=0)
        if parsed.int == 0:
            raise invalid_argument("User ID must be a valid ID.")
        out.append(str(parsed))
    return out


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


class GroupService:
    def __init__(self, db: Database, notifications: NotificationService, online: OnlineUsers) -> None:
        self.db = db
        self.notifications = notifications
        self.online = online

    # --- the group itself ---------------------------------------------------------------------------

    async def create(self, user_id: str, name: str, *, description: str = "", avatar_url: str = "",
                     lang_tag: str = "", open: bool = False, max_count: int = 0,
                     metadata: dict[str, Any] | None = None) -> Group:
        """A new group with ``user_id`` as its superadmin (and creator)."""
        if not name:
            raise invalid_argument("Group name must be set.")
        if max_count < 0:
            raise invalid_argument("Group max count must be >= 1 when set.")
        values = {"id": str(uuid.uuid4()), "creator_id": user_id, "name": name, "description": description,
                  "avatar_url": avatar_url, "state": OPEN if open else CLOSED, "lang_tag": lang_tag or "en",
                  "max_count": max_count or DEFAULT_MAX_COUNT, "metadata": orjson.dumps(metadata or {}).decode()}
        try:
            async with self.db.transaction() as conn:
                row = await sql.insert_group(conn, values)
                await sql.insert_member(conn, row["id"], user_id, SUPERADMIN, time.time_ns())
        except NameInUse:
            raise NakamaError("Group name is in use.", Code.ALREADY_EXISTS) from None
        except DatabaseError:
            log.exception("error creating group")
            raise internal("Error while trying to create group.") from None
        return group_from_row(row)

    async def update(self, group_id: str, caller: str | None, *, name: str | None = None,
                     description: str | None = None, avatar_url: str | None = None, lang_tag: str | None = None,
                     open: bool | None = None, metadata: dict[str, Any] | None = None,
                     max_count: int | None = None) -> None:
        """Change the given fields (``""`` clears description and avatar); admins and superadmins only."""
        group_id = group_id_of(group_id)
        if name is not None and not name:
            raise invalid_argument("Group name cannot be empty.")
        if lang_tag is not None and not lang_tag:
            raise invalid_argument("Group language cannot be empty.")
        values: dict[str, Any] = {}
        for column, value in (("name", name), ("lang_tag", lang_tag)):
            if value is not None:
                values[column] = value
        for column, value in (("description", description), ("avatar_url", avatar_url)):
            if value is not None:
                values[column] = value or None
        if open is not None:
            values["state"] = OPEN if open else CLOSED
        if metadata is not None:
            values["metadata"] = dict(metadata)
        if max_count:
            values["max_count"] = max_count
        if caller is not None:
            role = await sql.member_state(self.db, group_id, caller)
            if role is None or role > ADMIN:
                raise not_found("Group not found or you're not allowed to update.")
        if not values:
            raise invalid_argument("Specify at least one field to update.")
        try:
            async with self.db.transaction() as conn:
                changed = await sql.update_group(conn, group_id, values)
        except NameInUse:
            raise invalid_argument("Group name is in use.") from None
        except DatabaseError:
            log.exception("error updating group")
            raise internal("Error while trying to update group.") from None
        if changed == 0:
            raise invalid_argument("No new fields in group update.")

    async def delete(self, group_id: str, caller: str | None) -> None:
        """Delete the group and every membership; superadmins only."""
        group_id = group_id_of(group_id)
        try:
            async with self.db.transaction() as conn:
                if caller is not None:
                    role = await sql.member_state(conn, group_id, caller)
                    if role is None or role != SUPERADMIN:
                        raise invalid_argument("Group not found or you're not allowed to delete.")
                await sql.delete_group(conn, group_id)
        except DatabaseError:
            log.exception("error deleting group")
            raise internal("Error while trying to delete group.") from None

    async def get(self, group_ids: Sequence[str]) -> list[Group]:
        return [group_from_row(row) for row in await sql.groups_by_id(self.db, [group_id_of(g) for g in group_ids])]

    async def member_role(self, group_id: str, user_id: str) -> int | None:
        """The user's role in the group (None: no relationship); e.g. for group chat channels,
        where roles 0-2 may join and 3 (join request) and 4 (banned) may not."""
        return await sql.member_state(self.db, group_id_of(group_id), user_id)

    # --- joining and leaving ----------------------------------------------------------------------

    async def join(self, group_id: str, user_id: str, username: str) -> None:
        """Open group: become a member. Closed group: leave a join request for the admins."""
        group_id = group_id_of(group_id)
        admins: list[str] = []
        try:
            async with self.db.transaction() as conn:
                group = await sql.lock_group(conn, group_id)
                if group is None:
                    raise not_found("Group not found.")
                if group["edge_count"] >= group["max_count"]:
                    raise _full()
                if await sql.member_state(conn, group_id, user_id) is not None:
                    return  # already in it, asked to join, or banned: nothing changes
                if group["state"] == OPEN:
                    await sql.insert_member(conn, group_id, user_id, MEMBER, time.time_ns())
                    await sql.add_edge_count(conn, group_id, 1)
                else:
                    await sql.insert_member(conn, group_id, user_id, JOIN_REQUEST, time.time_ns())
                    admins = await sql.admin_ids(conn, group_id)
        except DatabaseError:
            log.exception("error joining group")
            raise internal("Error while trying to join group.") from None
        await self._notify([NotificationSend(admin, f"User {username} wants to join your group",
                                             {"group_id": group_id, "username": username},
                                             CODE_GROUP_JOIN_REQUEST, user_id) for admin in admins])

    async def leave(self, group_id: str, user_id: str) -> None:
        """Leave (or withdraw a join request); the last superadmin cannot, unless alone, which deletes the group."""
        group_id = group_id_of(group_id)
        try:
            async with self.db.transaction() as conn:
                if await sql.lock_group(conn, group_id) is None:
                    return
                role = await sql.member_state(conn, group_id, user_id)
                if role is None or role == BANNED:
                    return
                if role == SUPERADMIN:
                    others = await sql.state_counts(conn, group_id, user_id)
                    if not others.get(SUPERADMIN):
                        if not any(others.get(r) for r in (ADMIN, MEMBER)):
                            await sql.delete_group(conn, group_id)
                            return
                        raise invalid_argument("Cannot leave group when you are the last superadmin.")
                await sql.delete_member(conn, group_id, user_id)
                if role < JOIN_REQUEST:
                    await sql.add_edge_count(conn, group_id, -1)
        except DatabaseError:
            log.exception("error leaving group")
            raise internal("Error while trying to leave group.") from None

    # --- acting on members: admins and superadmins ----------------------------------------------

    async def _caller_role(self, conn: Any, group_id: str, caller: str | None) -> int:
        if caller is None:
            return SUPERADMIN
        role = await sql.member_state(conn, group_id, caller)
        if role is None or role > ADMIN:
            raise not_found(DENIED)
        return role

    async def add(self, group_id: str, caller: str | None, user_ids: Sequence[str]) -> None:
        """Add users as members, accepting their join requests; banned users and members are left as they are."""
        group_id, targets = group_id_of(group_id), user_ids_of(user_ids)
        added: list[str] = []
        try:
            async with self.db.transaction() as conn:
                group = await sql.lock_group(conn, group_id)
                await self._caller_role(conn, group_id, caller)
                if group is None:
                    raise not_found(DENIED)
                names = await sql.existing_users(conn, targets)
                count = group["edge_count"]
                for position, target in enumerate(dict.fromkeys(targets), start=time.time_ns()):
                    if target == caller:
                        continue
                    if target not in names:
                        raise invalid_argument("One or more users not found.")
                    role = await sql.member_state(conn, group_id, target)
                    if role is None:
                        await sql.insert_member(conn, group_id, target, MEMBER, position)
                    elif role == JOIN_REQUEST:
                        await sql.set_member_state(conn, group_id, target, MEMBER)
                    else:
                        continue
                    count += 1
                    if count > group["max_count"]:
                        raise _full()
                    added.append(target)
                if added:
                    await sql.add_edge_count(conn, group_id, len(added))
        except DatabaseError:
            log.exception("error adding users to group")
            raise internal("Error while trying to add users to a group.") from None
        name = group["name"] if group else ""
        await self._notify([NotificationSend(user, f"You've been added to group {name}",
                                             {"group_id": group_id, "name": name}, CODE_GROUP_ADD, caller)
                            for user in added])

    async def kick(self, group_id: str, caller: str | None, user_ids: Sequence[str]) -> None:
        """Remove members (admins may remove members and join requests; superadmins anyone but the
        last superadmin); the ones banned stay banned unless a superadmin lifts it."""
        await self._remove(group_id, caller, user_ids, ban=False)

    async def ban(self, group_id: str, caller: str | None, user_ids: Sequence[str]) -> None:
        """As ``kick``, and the removed users cannot join again until kicked (unbanned) by a superadmin."""
        await self._remove(group_id, caller, user_ids, ban=True)

    async def _remove(self, group_id: str, caller: str | None, user_ids: Sequence[str], *, ban: bool) -> None:
        group_id, targets = group_id_of(group_id), user_ids_of(user_ids)
        action = "ban users from" if ban else "kick users from"
        try:
            async with self.db.transaction() as conn:
                group = await sql.lock_group(conn, group_id)
                my_role = await self._caller_role(conn, group_id, caller)
                if group is None:
                    raise not_found(DENIED)
                removed = 0
                for position, target in enumerate(dict.fromkeys(targets), start=time.time_ns()):
                    if target == caller:
                        continue
                    role = await sql.member_state(conn, group_id, target)
                    if role is None or (my_role == ADMIN and role <= ADMIN):
                        continue
                    if role == SUPERADMIN and not (await sql.state_counts(conn, group_id, target)).get(SUPERADMIN):
                        continue  # never the last superadmin
                    await sql.delete_member(conn, group_id, target)
                    if ban:
                        await sql.insert_ban(conn, group_id, target, position)
                    if role < JOIN_REQUEST:
                        removed += 1
                if removed:
                    await sql.add_edge_count(conn, group_id, -removed)
        except DatabaseError:
            log.exception("error removing users from group")
            raise internal(f"Error while trying to {action} a group.") from None

    async def promote(self, group_id: str, caller: str | None, user_ids: Sequence[str]) -> None:
        """One role up (join request -> member -> admin -> superadmin), never above the caller's role."""
        await self._change_roles(group_id, caller, user_ids, -1)

    async def demote(self, group_id: str, caller: str | None, user_ids: Sequence[str]) -> None:
        """One role down (superadmin -> admin -> member), never for a role above the caller's, and
        never the last superadmin; members stay members."""
        group_id_of(group_id)
        if not user_ids:
            raise invalid_argument("User IDs must be set.")
        await self._change_roles(group_id, caller, user_ids, 1)

    async def _change_roles(self, group_id: str, caller: str | None, user_ids: Sequence[str], step: int) -> None:
        group_id, targets = group_id_of(group_id), user_ids_of(user_ids)
        action = "promote users in" if step < 0 else "demote users in"
        try:
            async with self.db.transaction() as conn:
                group = await sql.lock_group(conn, group_id)
                my_role = await self._caller_role(conn, group_id, caller)
                if group is None:
                    raise not_found(DENIED)
                joined = 0
                for target in dict.fromkeys(targets):
                    if target == caller:
                        continue
                    role = await sql.member_state(conn, group_id, target)
                    if role is None:
                        continue
                    if step < 0:
                        if not (role > SUPERADMIN and role > my_role and role <= JOIN_REQUEST):
                            continue
                    else:
                        if not (my_role <= role < MEMBER):
                            continue
                        if role == SUPERADMIN and not (await sql.state_counts(conn, group_id, target)).get(SUPERADMIN):
                            continue
                    await sql.set_member_state(conn, group_id, target, role + step)
                    if role == JOIN_REQUEST:
                        joined += 1
                if joined:
                    if group["edge_count"] + joined > group["max_count"]:
                        raise _full()
                    await sql.add_edge_count(conn, group_id, joined)
        except DatabaseError:
            log.exception("error changing roles in group")
            raise internal(f"Error while trying to {action} a group.") from None

    async def forget_user(self, user_id: str, conn: Any) -> None:
        """Inside an account's deletion (Nakama's rules): a group whose only superadmin the user was is
        deleted; from every other group the user is removed, and its count follows."""
        for group_id, role in await sql.user_memberships(conn, user_id):
            if role == SUPERADMIN and not (await sql.state_counts(conn, group_id, user_id)).get(SUPERADMIN):
                await sql.delete_group(conn, group_id)
                continue
            await sql.delete_member(conn, group_id, user_id)
            if role < JOIN_REQUEST:
                await sql.add_edge_count(conn, group_id, -1)

    # --- listing ---------------------------------------------------------------------------------------

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

    async def _notify(self, notes: list[NotificationSend]) -> None:
        if not notes:
            return
        try:
            await self.notifications.send(notes, system=True)
        except (NakamaError, DatabaseError):
            log.exception("error sending group notifications")  # the membership change is committed
