"""Who is online: the hook point the realtime socket fills in.

Users, friends and group members carry Nakama's ``online`` flag. Until a realtime
status registry is installed (``OnlineStatus`` implementation on the state), nobody
is online, as on a Nakama server with no connected sockets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from nakama_py.core.account_types import User


class OnlineStatus(Protocol):
    def online(self, user_ids: Iterable[str]) -> set[str]:
        """The subset of ``user_ids`` with at least one live socket anywhere in the cluster."""


class NobodyOnline:
    def online(self, user_ids: Iterable[str]) -> set[str]:
        return set()


class OnlineUsers:
    """The one place users get their ``online`` flag; realtime calls ``install`` with its registry."""

    def __init__(self) -> None:
        self._source: OnlineStatus = NobodyOnline()

    def install(self, source: OnlineStatus) -> None:
        self._source = source

    def mark(self, users: Sequence[User]) -> list[User]:
        online = self._source.online(user.id for user in users) if users else set()
        return [replace(user, online=user.id in online) for user in users]
