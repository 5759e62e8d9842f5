"""``nk.friends_*``: friend lists, invites, deletes and blocks, acting as ``user_id``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from nakama_py.core.friends import FriendService
from nakama_py.runtime.call_scope import tracked

if TYPE_CHECKING:
    from nakama_py.runtime.types import Friend


class FriendCalls:
    _friends: FriendService

    @tracked
    async def friends_list(self, user_id: str, limit: int = 100, state: int | None = None,
                           cursor: str | None = None) -> tuple[list[Friend], str | None]:
        """The user's friends (state 0), invites (1 sent, 2 received) and blocks (3); limit 1-1000."""
        return await self._friends.list_friends(user_id, limit=limit, state=state, cursor=cursor or None)

    async def _friend_targets(self, user_id: str, username: str, ids: Sequence[str] | None,
                              usernames: Sequence[str] | None, self_message: str) -> list[str]:
        return await self._friends.resolve(user_id, username, list(ids or ()), list(usernames or ()),
                                           self_message=self_message, require_found=False)

    @tracked
    async def friends_add(self, user_id: str, username: str, ids: Sequence[str] | None = None,
                          usernames: Sequence[str] | None = None, metadata: Mapping[str, Any] | None = None) -> None:
        """Invite the users as ``user_id`` (or accept their invites)."""
        targets = await self._friend_targets(user_id, username, ids, usernames, "Cannot add self as friend.")
        await self._friends.add(user_id, username, targets, orjson.dumps(dict(metadata or {})).decode())

    @tracked
    async def friends_delete(self, user_id: str, username: str, ids: Sequence[str] | None = None,
                             usernames: Sequence[str] | None = None) -> None:
        targets = await self._friend_targets(user_id, username, ids, usernames, "Cannot delete self.")
        await self._friends.delete(user_id, username, targets)

    @tracked
    async def friends_block(self, user_id: str, username: str, ids: Sequence[str] | None = None,
                            usernames: Sequence[str] | None = None) -> None:
        targets = await self._friend_targets(user_id, username, ids, usernames, "Cannot block self.")
        await self._friends.block(user_id, targets)

    @tracked
    async def friend_metadata_update(self, user_id: str, friend_id: str, metadata: Mapping[str, Any] | None) -> None:
        """Replace the metadata on ``user_id``'s edge toward ``friend_id`` (friend, invite or block)."""
        await self._friends.update_metadata(user_id, friend_id, metadata)
