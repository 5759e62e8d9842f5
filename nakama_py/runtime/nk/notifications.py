"""``nk.notification*``: in-app notifications."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nakama_py.core.notifications import NotificationService
from nakama_py.runtime.call_scope import tracked
from nakama_py.runtime.nk import inputs
from nakama_py.runtime.nk.inputs import NotificationLike
from nakama_py.runtime.types import Notification, NotificationSend


class NotificationCalls:
    _notifications: NotificationService

    @tracked
    async def notification_send(self, user_id: str, subject: str, content: Mapping[str, Any], code: int,
                                sender_id: str | None = None, persistent: bool = True) -> Notification:
        notes = await self._notifications.send(
            [NotificationSend(user_id, subject, content, code, sender_id or None, persistent)])
        return notes[0]

    @tracked
    async def notifications_send(self, notifications: Sequence[NotificationLike]) -> list[Notification]:
        return await self._notifications.send([inputs.notification(item) for item in notifications])

    @tracked
    async def notifications_list(self, user_id: str, limit: int = 100, cursor: str | None = None,
                                 ) -> tuple[list[Notification], str | None]:
        return await self._notifications.list_notifications(user_id, limit, cursor or None)

    @tracked
    async def notifications_delete(self, user_id: str, ids: Sequence[str]) -> None:
        await self._notifications.delete(user_id, ids)

    @tracked
    async def notification_send_all(self, subject: str, content: Mapping[str, Any], code: int,
                                    persistent: bool = False) -> None:
        """To every user from the system: live to every connected socket of the cluster; ``persistent``
        stores one for every user (and delivers it to those connected)."""
        await self._notifications.send_all(subject, content, code, persistent)
