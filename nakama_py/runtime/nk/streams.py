"""``nk.stream_*``: runtime streams. A stream is a mapping ``{"mode", "subject", "subcontext", "label"}``
(modes from 8 up are the module's own); members get ``stream_data`` and ``stream_presence_event`` on
their socket, on whichever server process it is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nakama_py.core.presence import Presence
from nakama_py.core.streams import StreamService, stream_of
from nakama_py.runtime.call_scope import tracked

StreamLike = Mapping[str, Any]


def _presence(presence: Presence) -> dict[str, Any]:
    """A presence as module code sees it (Nakama's runtime Presence fields)."""
    meta = presence.meta
    return {"user_id": presence.user_id, "session_id": presence.session_id, "username": meta.username,
            "node": presence.process, "hidden": meta.hidden, "persistence": meta.persistence, "status": meta.status}


class StreamCalls:
    _streams: StreamService

    @tracked
    async def stream_user_join(self, user_id: str, session_id: str, stream: StreamLike, hidden: bool = False,
                               persistence: bool = False, status: str = "") -> bool:
        """Put a socket session (on any process) on the stream; True when it was already there."""
        return await self._streams.user_join(user_id, session_id, stream_of(stream), hidden=hidden,
                                             persistence=persistence, status=status)

    @tracked
    async def stream_user_update(self, user_id: str, session_id: str, stream: StreamLike, hidden: bool = False,
                                 persistence: bool = False, status: str = "") -> None:
        await self._streams.user_update(user_id, session_id, stream_of(stream), hidden=hidden,
                                        persistence=persistence, status=status)

    @tracked
    async def stream_user_leave(self, user_id: str, session_id: str, stream: StreamLike) -> None:
        await self._streams.user_leave(user_id, session_id, stream_of(stream))

    def stream_user_get(self, user_id: str, session_id: str, stream: StreamLike) -> dict[str, Any] | None:
        presence = self._streams.user_get(user_id, session_id, stream_of(stream))
        return _presence(presence) if presence is not None else None

    def stream_user_list(self, stream: StreamLike, include_hidden: bool = True,
                         include_not_hidden: bool = True) -> list[dict[str, Any]]:
        return [_presence(p) for p in self._streams.members(
            stream_of(stream), include_hidden=include_hidden, include_not_hidden=include_not_hidden)]

    def stream_count(self, stream: StreamLike) -> int:
        return self._streams.member_count(stream_of(stream))

    @tracked
    async def stream_close(self, stream: StreamLike) -> None:
        await self._streams.close(stream_of(stream))

    @tracked
    async def stream_send(self, stream: StreamLike, data: str, presences: Sequence[Mapping[str, Any]] | None = None,
                          reliable: bool = True) -> None:
        """``stream_data`` to the stream's members (or to the given presences among them)."""
        targets = None
        if presences is not None:
            wanted = {(q.get("user_id"), q.get("session_id")) for q in presences}
            targets = [p for p in self._streams.members(stream_of(stream)) if (p.user_id, p.session_id) in wanted]
        await self._streams.send(stream_of(stream), data, presences=targets, reliable=reliable)
