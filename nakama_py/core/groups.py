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

import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

import orjson

from nakama_py.core.group_lists import GroupLists
from nakama_py.core.group_types import (
    ADMIN,
    BANNED,
    CLOSED,
    JOIN_REQUEST,
    MEMBER,
    OPEN,
    SUPERADMIN,
    Group,
    group_from_row,
    group_id_of,
    user_ids_of,
)
from nakama_py.core.notifications import NotificationSend, NotificationService
from nakama_py.core.online import OnlineUsers
from nakama_py.db import groups as sql
from nakama_py.db.errors import DatabaseError
from nakama_py.db.groups import NameInUse
from nakama_py.db.pool import Database
from nakama_py.errors import Code, NakamaError, internal, invalid_argument, not_found

log = logging.getLogger("nakama_py.groups")

DEFAULT_MAX_COUNT = 100

CODE_GROUP_ADD = -4
CODE_GROUP_JOIN_REQUEST = -5

DENIED = "Group not found or permission denied."


def _full() -> NakamaError:
    return invalid_argument("Group is full.")


class GroupService(GroupLists):
    """Changes to groups and their members; the reads come from GroupLists."""

    def __init__(self, db: Database, notifications: NotificationService, online: OnlineUsers) -> None:
        super().__init__(db, online)
        self.notifications = notifications

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

    async def can_chat(self, group_id: str, user_id: str) -> bool:
        """Group chat channels (realtime): superadmins, admins and members may join; a join request
        or a ban may not, nor may anyone on an id that is not a group's."""
        try:
            role = await self.member_role(group_id, user_id)
        except NakamaError:
            return False
        return role is not None and role <= MEMBER

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

    async def _notify(self, notes: list[NotificationSend]) -> None:
        if not notes:
            return
        try:
            await self.notifications.send(notes, system=True)
        except (NakamaError, DatabaseError):
            log.exception("error sending group notifications")  # the membership change is committed
