"""Runtime streams (``nk.stream_*``): module code puts sessions on streams of its own and sends
them data. Nakama's rules: the session must exist (on any process), modes of the built-in
features (notifications, status, chat, matches, parties) cannot be joined this way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nakama_py.core.presence import Presence, PresenceMeta, Stream, StreamMode, notification_stream
from nakama_py.core.router import Router
from nakama_py.core.tracker import Tracker
from nakama_py.errors import invalid_argument, not_found
from nakama_py.proto.realtime_pb2 import Envelope

_RESERVED_JOIN = {StreamMode.NOTIFICATIONS, StreamMode.MATCH_AUTHORITATIVE, StreamMode.PARTY}


def stream_of(value: Mapping[str, Any] | Stream) -> Stream:
    """A stream from a module's ``{"mode", "subject", "subcontext", "label"}`` mapping."""
    if isinstance(value, Stream):
        return value
    if not isinstance(value, Mapping):
        raise invalid_argument("expects a stream mapping")
    mode = value.get("mode")
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 255:
        raise invalid_argument("stream mode is required and must be 0-255")
    parts = [value.get(key) or "" for key in ("subject", "subcontext", "label")]
    if not all(isinstance(part, str) for part in parts):
        raise invalid_argument("stream subject, subcontext and label must be strings")
    return Stream(mode, *parts)


class StreamService:
    def __init__(self, tracker: Tracker, router: Router) -> None:
        self._tracker = tracker
        self._router = router

    def _session(self, user_id: str, session_id: str) -> Presence:
        """The session's own presence (every socket is on its notification stream)."""
        presence = self._tracker.get(session_id, notification_stream(user_id))
        if presence is None:
            raise not_found("session id does not exist")
        return presence

    async def user_join(self, user_id: str, session_id: str, stream: Stream, *, hidden: bool = False,
                        persistence: bool = False, status: str = "") -> bool:
        """True when the session was already on the stream (Nakama's answer)."""
        if stream.mode in _RESERVED_JOIN:
            raise invalid_argument("cannot join a stream of a built-in feature with this mode")
        own = self._session(user_id, session_id)
        meta = PresenceMeta(own.meta.username, hidden, persistence, status)
        return not await self._tracker.track(session_id, user_id, stream, meta, process=own.process)

    async def user_update(self, user_id: str, session_id: str, stream: Stream, *, hidden: bool = False,
                          persistence: bool = False, status: str = "") -> None:
        own = self._session(user_id, session_id)
        if self._tracker.get(session_id, stream) is None:
            raise not_found("session is not on the stream")
        await self._tracker.update(session_id, user_id, stream, PresenceMeta(own.meta.username, hidden,
                                                                             persistence, status))

    async def user_leave(self, user_id: str, session_id: str, stream: Stream) -> None:
        self._session(user_id, session_id)
        await self._tracker.untrack(session_id, stream)

    def user_get(self, user_id: str, session_id: str, stream: Stream) -> Presence | None:
        presence = self._tracker.get(session_id, stream)
        return presence if presence is not None and presence.user_id == user_id else None

    def members(self, stream: Stream, *, include_hidden: bool = True, include_not_hidden: bool = True
                ) -> list[Presence]:
        return [p for p in self._tracker.members(stream)
                if (p.meta.hidden and include_hidden) or (not p.meta.hidden and include_not_hidden)]

    def member_count(self, stream: Stream) -> int:
        return self._tracker.member_count(stream)

    async def close(self, stream: Stream) -> None:
        await self._tracker.untrack_stream(stream)

    async def send(self, stream: Stream, data: str, *, presences: Sequence[Presence] | None = None,
                   reliable: bool = True) -> None:
        """``stream_data`` to the stream's members (or only to ``presences`` among them)."""
        envelope = Envelope()
        envelope.stream_data.stream.CopyFrom(stream.to_proto())
        envelope.stream_data.data = data
        envelope.stream_data.reliable = reliable
        targets: Iterable[Presence] = self._tracker.members(stream)
        if presences is not None:
            wanted = {(p.user_id, p.session_id) for p in presences}
            targets = [p for p in targets if (p.user_id, p.session_id) in wanted]
        await self._router.send_to_presences(targets, envelope)
