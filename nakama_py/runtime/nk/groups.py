"""``nk.group_*``, ``nk.groups_*`` and ``nk.user_groups_list``: groups and their members.

The runtime acts as a superadmin unless ``caller_id`` is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nakama_py.core.groups import GroupService
from nakama_py.runtime.call_scope import tracked

if TYPE_CHECKING:
    from nakama_py.runtime.types import Group, GroupUser, UserGroup


class GroupCalls:
    _groups: GroupService

    @tracked
    async def group_create(self, user_id: str, name: str, lang_tag: str = "", description: str = "",
                           avatar_url: str = "", open: bool = False, metadata: Mapping[str, Any] | None = None,
                           max_count: int = 0) -> Group:
        return await self._groups.create(user_id, name, description=description, avatar_url=avatar_url,
                                         lang_tag=lang_tag, open=open, max_count=max_count,
                                         metadata=dict(metadata or {}))

    @tracked
    async def group_update(self, group_id: str, user_id: str | None = None, name: str | None = None,
                           lang_tag: str | None = None, description: str | None = None,
                           avatar_url: str | None = None, open: bool | None = None,
                           metadata: Mapping[str, Any] | None = None, max_count: int | None = None) -> None:
        await self._groups.update(group_id, user_id or None, name=name, lang_tag=lang_tag,
                                  description=description, avatar_url=avatar_url, open=open,
                                  metadata=dict(metadata) if metadata is not None else None,
                                  max_count=max_count)

    @tracked
    async def group_delete(self, group_id: str) -> None:
        await self._groups.delete(group_id, None)

    @tracked
    async def groups_get_id(self, group_ids: Sequence[str]) -> list[Group]:
        return await self._groups.get(list(group_ids))

    @tracked
    async def group_user_join(self, group_id: str, user_id: str, username: str) -> None:
        await self._groups.join(group_id, user_id, username)

    @tracked
    async def group_user_leave(self, group_id: str, user_id: str) -> None:
        await self._groups.leave(group_id, user_id)

    @tracked
    async def group_users_add(self, group_id: str, user_ids: Sequence[str], caller_id: str | None = None) -> None:
        await self._groups.add(group_id, caller_id or None, list(user_ids))

    @tracked
    async def group_users_kick(self, group_id: str, user_ids: Sequence[str], caller_id: str | None = None) -> None:
        await self._groups.kick(group_id, caller_id or None, list(user_ids))

    @tracked
    async def group_users_ban(self, group_id: str, user_ids: Sequence[str], caller_id: str | None = None) -> None:
        await self._groups.ban(group_id, caller_id or None, list(user_ids))

    @tracked
    async def group_users_promote(self, group_id: str, user_ids: Sequence[str],
                                  caller_id: str | None = None) -> None:
        await self._groups.promote(group_id, caller_id or None, list(user_ids))

    @tracked
    async def group_users_demote(self, group_id: str, user_ids: Sequence[str],
                                 caller_id: str | None = None) -> None:
        await self._groups.demote(group_id, caller_id or None, list(user_ids))

    @tracked
    async def group_users_list(self, group_id: str, limit: int = 100, state: int | None = None,
                               cursor: str | None = None) -> tuple[list[GroupUser], str | None]:
        return await self._groups.list_members(group_id, limit=limit, state=state, cursor=cursor or None)

    @tracked
    async def user_groups_list(self, user_id: str, limit: int = 100, state: int | None = None,
                               cursor: str | None = None) -> tuple[list[UserGroup], str | None]:
        return await self._groups.list_user_groups(user_id, limit=limit, state=state, cursor=cursor or None)

    @tracked
    async def groups_list(self, name: str = "", lang_tag: str = "", members: int | None = None,
                          open: bool | None = None, limit: int = 100,
                          cursor: str | None = None) -> tuple[list[Group], str | None]:
        return await self._groups.list_groups(name=name, lang_tag=lang_tag, open=open, members=members,
                                              limit=limit, cursor=cursor or None)
