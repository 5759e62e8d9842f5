"""Status follows: which sockets of this process want the online status of which users.

A socket follows users (``status_follow``); every status presence join or leave of a followed
user, on any process, reaches the follower as ``status_presence_event``. Follows belong to the
socket and end with it. Each process keeps the follows of its own sockets only: presence events
are replicated to every process by the tracker, so no follow crosses the bus.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from nakama_py.core.accounts import AccountService
from nakama_py.core.presence import Presence, PresenceMeta, status_stream
from nakama_py.core.tracker import Tracker
from nakama_py.errors import invalid_argument


class StatusFollows:
    def __init__(self) -> None:
        self._followers: dict[str, set[str]] = {}   # followed user id -> follower session ids
        self._following: dict[str, set[str]] = {}   # session id -> followed user ids

    def follow(self, session_id: str, user_ids: set[str]) -> None:
        self._following.setdefault(session_id, set()).update(user_ids)
        for user_id in user_ids:
            self._followers.setdefault(user_id, set()).add(session_id)

    def unfollow(self, session_id: str, user_ids: set[str]) -> None:
        following = self._following.get(session_id, set())
        for user_id in user_ids:
            following.discard(user_id)
            followers = self._followers.get(user_id)
            if followers is not None:
                followers.discard(session_id)
                if not followers:
                    del self._followers[user_id]
        if not following:
            self._following.pop(session_id, None)

    def unfollow_all(self, session_id: str) -> None:
        self.unfollow(session_id, set(self._following.get(session_id, set())))

    def followers(self, user_id: str) -> list[str]:
        return list(self._followers.get(user_id, ()))

    def following(self, session_id: str) -> set[str]:
        return set(self._following.get(session_id, set()))


STATUS_MAX = 2048


class StatusService:
    """Nakama's status rules: follows by id or username (oneself and unknown users left out),
    the current online presences of the followed in the reply, a status of at most 2048 chars."""

    def __init__(self, accounts: AccountService, tracker: Tracker, follows: StatusFollows) -> None:
        self._accounts = accounts
        self._tracker = tracker
        self.follows = follows

    async def follow(self, session_id: str, user_id: str, username: str, user_ids: Sequence[str],
                     usernames: Sequence[str]) -> list[Presence]:
        ids: set[str] = set()
        for text in user_ids:
            try:
                ids.add(str(uuid.UUID(text)))
            except ValueError:
                raise invalid_argument("Invalid user identifier") from None
        names: set[str] = set()
        for name in usernames:
            if not name:
                raise invalid_argument("Invalid username")
            names.add(name)
        ids.discard(user_id)
        names.discard(username)
        if not ids and not names:
            return []
        found = {user.id for user in await self._accounts.get_users(ids=sorted(ids), usernames=sorted(names))}
        found.discard(user_id)
        self.follows.follow(session_id, found)
        return [p for followed in sorted(found)
                for p in self._tracker.members(status_stream(followed), include_hidden=False)]

    def unfollow(self, session_id: str, user_id: str, user_ids: Sequence[str]) -> None:
        ids: set[str] = set()
        for text in user_ids:
            try:
                ids.add(str(uuid.UUID(text)))
            except ValueError:
                raise invalid_argument("Invalid user identifier") from None
        ids.discard(user_id)
        self.follows.unfollow(session_id, ids)

    async def update(self, session_id: str, user_id: str, username: str, status: str | None) -> None:
        """None: appear offline (leave the status stream); otherwise (re)appear with this status."""
        stream = status_stream(user_id)
        if status is None:
            await self._tracker.untrack(session_id, stream)
            return
        if len(status) > STATUS_MAX:
            raise invalid_argument("Status must be 2048 characters or less")
        await self._tracker.update(session_id, user_id, stream, PresenceMeta(username, status=status))
