"""Friends: invites, mutual friendships and blocks between users, as Nakama keeps them.

States (Nakama's numbers, in ``user_edge``): 0 friend, 1 invite sent, 2 invite received,
3 blocked. Adding someone who invited you accepts (both become 0); adding anyone else
sends an invite; a block replaces your side and drops theirs unless they blocked you.
Every write locks the users involved in id order inside one transaction, so two users
adding each other at the same moment (in any processes) end as mutual friends.

``caller`` is the acting user; the runtime passes the user it acts for, like Nakama's
``nk.friends_*``. Notifications (Nakama's codes): -2 invite received, -3 invite accepted,
-9 removed as a friend; sent persistent, through ``NotificationService``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from nakama_py.config import SocialConfig
from nakama_py.core.account_types import User, user_from_row
from nakama_py.core.accounts import AccountService
from nakama_py.core.notifications import NotificationSend, NotificationService
from nakama_py.db import friends as sql
from nakama_py.db.errors import DatabaseError
from nakama_py.db.pool import Database
from nakama_py.errors import Code, NakamaError, internal, invalid_argument, unauthenticated

log = logging.getLogger("nakama_py.friends")

FRIEND, INVITE_SENT, INVITE_RECEIVED, BLOCKED = 0, 1, 2, 3
STATE_NAMES = {FRIEND: "friend", INVITE_SENT: "invite sent", INVITE_RECEIVED: "invite received", BLOCKED: "blocked"}
LIST_LIMIT_MAX = 1000
FRIENDS_OF_FRIENDS_LIMIT_MAX = 100

# Nakama's notification codes for friend events.
CODE_FRIEND_REQUEST = -2
CODE_FRIEND_ACCEPT = -3
CODE_FRIEND_REMOVE = -9


@dataclass(frozen=True, slots=True)
class Friend:
    """Nakama's api.Friend: the other user and the state of the caller's side."""

    user: User
    state: int
    update_time: datetime
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FriendOfFriend:
    referrer: str  # the caller's friend through whom ``user`` was found
    user: User


def _encode_cursor(value: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise invalid_argument("Cursor is invalid.") from None
    if not isinstance(value, list) or len(value) != 2:
        raise invalid_argument("Cursor is invalid.")
    return value


def valid_user_id(user_id: str) -> str | None:
    """The canonical form of a user id, or None when it is not a usable (non-nil) UUID."""
    try:
        parsed = uuid.UUID(str(user_id))
    except ValueError:
        return None
    return None if parsed.int == 0 else str(parsed)


class FriendService:
    def __init__(self, db: Database, accounts: AccountService, notifications: NotificationService,
                 social: SocialConfig) -> None:
        self.db = db
        self.accounts = accounts
        self.notifications = notifications
        self.social = social

    # --- reading ----------------------------------------------------------------------------------

    async def list_friends(self, user_id: str, *, limit: int = LIST_LIMIT_MAX, state: int | None = None,
                   cursor: str | None = None) -> tuple[list[Friend], str | None]:
        """The user's friends, invites and blocks by (state, creation); the cursor continues."""
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise invalid_argument("Invalid limit - limit must be between 1 and 1000.")
        if state is not None and not FRIEND <= state <= BLOCKED:
            raise invalid_argument("Invalid state - state must be between 0 and 3.")
        after: tuple[int, int] | None = None
        if cursor:
            cursor_state, position = _decode_cursor(cursor)
            if not isinstance(cursor_state, int) or not isinstance(position, int) \
                    or (state is not None and cursor_state != state):
                raise invalid_argument("Cursor is invalid.")  # e.g. an old cursor with a changed filter
            after = (cursor_state, position)
        try:
            rows = await sql.list_edges(self.db, user_id, state, after, limit + 1)
        except DatabaseError:
            log.exception("error listing friends")
            raise internal("Error while trying to list friends.") from None
        next_cursor = None
        if len(rows) > limit:
            next_cursor = _encode_cursor([rows[limit]["edge_state"], rows[limit]["position"]])
        rows = rows[:limit]
        users = self.accounts.online.mark([user_from_row(row) for row in rows])
        return [Friend(user, int(row["edge_state"]), row["edge_update_time"],
                       row["edge_metadata"] if isinstance(row["edge_metadata"], dict) else {})
                for user, row in zip(users, rows, strict=True)], next_cursor

    async def blocks(self, recipient: str, sender: str) -> bool:
        """Whether ``recipient`` has blocked ``sender`` (direct messages between them are refused)."""
        return await sql.blocks(self.db, recipient, sender)

    async def friend_ids(self, user_id: str) -> list[str]:
        """The user's mutual friends (state 0), e.g. for realtime status followers."""
        return await sql.friend_ids(self.db, user_id)

    async def friends_of_friends(self, user_id: str, *, limit: int = 10,
                                 cursor: str | None = None) -> tuple[list[FriendOfFriend], str | None]:
        """Friends of the user's friends who are neither the user nor already their friends."""
        if not 1 <= limit <= FRIENDS_OF_FRIENDS_LIMIT_MAX:
            raise invalid_argument("Invalid limit - limit must be between 1 and 100.")
        after: tuple[str, str] | None = None
        if cursor:
            source, destination = (valid_user_id(part) if isinstance(part, str) else None
                                   for part in _decode_cursor(cursor))
            if source is None or destination is None:
                raise invalid_argument("Cursor is invalid.")
            after = (source, destination)
        try:
            friends = await sql.friend_ids(self.db, user_id)
            pairs: list[tuple[str, str]] = []
            next_cursor = None
            for friend in friends:  # in id order, as the cursor's pairs are
                if after is not None and friend < after[0]:
                    continue
                start = after if after is not None and friend == after[0] else None
                found = await sql.friends_of(self.db, friend, user_id, friends, start, limit + 1)
                for pair in found:
                    if len(pairs) >= limit:
                        next_cursor = _encode_cursor(list(pair))
                        break
                    pairs.append(pair)
                if next_cursor:
                    break
        except DatabaseError:
            log.exception("error listing friends of friends")
            raise internal("Error while trying to list friends.") from None
        users = {user.id: user for user in await self.accounts.get_users(ids=sorted({p[1] for p in pairs}))}
        return [FriendOfFriend(referrer, users[other]) for referrer, other in pairs if other in users], next_cursor

    # --- resolving the request's ids and usernames -------------------------------------------------

    async def resolve(self, user_id: str, username: str, ids: Sequence[str], usernames: Sequence[str],
                      *, self_message: str, require_found: bool = True) -> list[str]:
        """The user ids a request names, after Nakama's checks (``self_message`` when naming oneself;
        with ``require_found``, naming nobody who exists is an error, else an empty answer)."""
        for friend_id in ids:
            if friend_id == user_id:
                raise invalid_argument(self_message)
            if valid_user_id(friend_id) is None:
                raise invalid_argument(f"Invalid user ID '{friend_id}'.")
        for name in usernames:
            if name == "":
                raise invalid_argument("Username must not be empty.")
            if name == username:
                raise invalid_argument(self_message)
        found = await sql.user_ids_by_username(self.db, usernames) if usernames else []
        if not found and not ids and require_found:
            raise invalid_argument("No valid ID or username was provided.")
        return [str(uuid.UUID(friend_id)) for friend_id in ids] + found

    # --- writing ----------------------------------------------------------------------------------

    async def add(self, user_id: str, username: str, friend_ids: Sequence[str], metadata: str = "") -> None:
        """Invite each user, or accept their invite; blocks on either side are left alone, silently."""
        metadata = metadata or "{}"
        unique = [friend for friend in dict.fromkeys(friend_ids) if friend != user_id]
        invited: list[str] = []
        accepted: list[str] = []
        try:
            async with self.db.transaction() as conn:
                existing = await sql.lock_users(conn, [user_id, *unique])
                for friend in unique:
                    if friend not in existing:
                        continue
                    mine, theirs = await sql.edge_states(conn, user_id, friend)
                    if mine == BLOCKED or theirs == BLOCKED:
                        continue
                    if mine == INVITE_RECEIVED:
                        await sql.accept_invite(conn, user_id, friend, metadata)
                        accepted.append(friend)
                    elif mine is None:
                        await sql.insert_invite(conn, user_id, friend, time.time_ns(), metadata)
                        invited.append(friend)
        except DatabaseError:
            log.exception("error adding friends")
            raise internal("Error while trying to add friends.") from None
        await self._notify(username, user_id, [
            *[(friend, f"{username} wants to add you as a friend", CODE_FRIEND_REQUEST) for friend in invited],
            *[(friend, f"{username} accepted your friend request", CODE_FRIEND_ACCEPT) for friend in accepted]])

    async def delete(self, user_id: str, username: str, friend_ids: Sequence[str]) -> None:
        """Remove friendships and invites both ways, and lift the user's own blocks; their blocks stay."""
        unique = [friend for friend in dict.fromkeys(friend_ids) if friend != user_id]
        removed: list[str] = []
        try:
            async with self.db.transaction() as conn:
                await sql.lock_users(conn, [user_id, *unique])
                for friend in unique:
                    mine, theirs = await sql.edge_states(conn, user_id, friend)
                    if mine is not None:
                        await sql.delete_edge(conn, user_id, friend)
                        await sql.add_edge_count(conn, [user_id], -1)
                    if theirs is not None and theirs != BLOCKED:
                        await sql.delete_edge(conn, friend, user_id)
                        await sql.add_edge_count(conn, [friend], -1)
                        if mine is not None:
                            removed.append(friend)
        except DatabaseError:
            log.exception("error deleting friends")
            raise internal("Error while trying to delete friends.") from None
        await self._notify(username, user_id, [
            (friend, f"{username} removed you as a friend", CODE_FRIEND_REMOVE) for friend in removed])

    async def update_metadata(self, user_id: str, friend_id: str, metadata: Mapping[str, Any] | None) -> None:
        """Nakama's ``UpdateFriendMetadata``: replace the metadata on the user's own edge toward the friend,
        whatever its state; no edge, no change (and no error)."""
        try:
            user = str(uuid.UUID(str(user_id)))
        except ValueError:
            raise invalid_argument("expects user ID to be a valid identifier") from None
        try:
            friend = str(uuid.UUID(str(friend_id)))
        except ValueError:
            raise invalid_argument("expects friend user ID to be a valid identifier") from None
        try:
            text = orjson.dumps(dict(metadata) if metadata is not None else {}).decode()
        except TypeError as exc:
            raise invalid_argument(f"failed to encode metadata: {exc}") from None
        try:
            await sql.set_metadata(self.db, user, friend, text)
        except DatabaseError:
            log.exception("error updating friend metadata")
            raise internal("Error while trying to update friend metadata.") from None

    async def block(self, user_id: str, friend_ids: Sequence[str]) -> None:
        """Block each user: the caller's side becomes 3, theirs goes unless it is a block too."""
        unique = [friend for friend in dict.fromkeys(friend_ids) if friend != user_id]
        try:
            async with self.db.transaction() as conn:
                existing = await sql.lock_users(conn, [user_id, *unique])
                for friend in unique:
                    if friend not in existing:
                        continue
                    mine, theirs = await sql.edge_states(conn, user_id, friend)
                    if mine is None:
                        await sql.insert_block(conn, user_id, friend, time.time_ns())
                    elif mine != BLOCKED:
                        await sql.set_blocked(conn, user_id, friend)
                    if theirs is not None and theirs != BLOCKED:
                        await sql.delete_edge(conn, friend, user_id)
                        await sql.add_edge_count(conn, [friend], -1)
        except DatabaseError:
            log.exception("error blocking friends")
            raise internal("Error while trying to block friends.") from None

    async def _notify(self, username: str, sender: str, items: Sequence[tuple[str, str, int]]) -> None:
        if not items:
            return
        content = {"username": username}
        try:
            await self.notifications.send([NotificationSend(user, subject, content, code, sender)
                                           for user, subject, code in items], system=True)
        except (NakamaError, DatabaseError):
            # Nakama logs and goes on: the friendship change is committed either way.
            log.exception("error sending friend notifications")

    # --- imports from social providers ------------------------------------------------------------

    async def import_facebook(self, token: str) -> None:
        """Nakama asks Facebook's Graph API for the friend list; nakama-py does not call out, so the
        answer is Nakama's for a token Facebook did not accept (no unverified identity is trusted)."""
        if not token:
            raise invalid_argument("Facebook token is required.")
        raise unauthenticated("Could not authenticate Facebook profile.")

    async def import_steam(self, token: str) -> None:
        """As ``import_facebook``, with Steam's configuration check first."""
        steam = self.social.steam
        if not steam.publisher_key or steam.app_id == 0:
            raise NakamaError("Steam authentication is not configured.", Code.FAILED_PRECONDITION)
        if not token:
            raise invalid_argument("Steam token is required.")
        raise unauthenticated("Could not authenticate Steam profile.")
