"""Status follows: which sockets of this process want the online status of which users.

A socket follows users (``status_follow``); every status presence join or leave of a followed
user, on any process, reaches the follower as ``status_presence_event``. Follows belong to the
socket and end with it. Each process keeps the follows of its own sockets only: presence events
are replicated to every process by the tracker, so no follow crosses the bus.
"""

from __future__ import annotations


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
