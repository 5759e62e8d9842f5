"""Closing sockets from the server side, on whichever process holds them (the tracker knows where each
socket is; the router carries the close there): the runtime's ``session_disconnect`` and a ban."""

from __future__ import annotations

import uuid

from nakama_py.core.presence import StreamMode, notification_stream
from nakama_py.core.router import CLOSE_BANNED, CLOSE_DISCONNECT, Router
from nakama_py.core.tracker import Tracker
from nakama_py.errors import invalid_argument


class Disconnects:
    def __init__(self, tracker: Tracker, router: Router) -> None:
        self._tracker = tracker
        self._router = router

    async def disconnect_session(self, session_id: str) -> None:
        """Close the socket with this session id (no such socket: nothing happens, as in Nakama)."""
        try:
            session_id = str(uuid.UUID(str(session_id)))
        except ValueError:
            raise invalid_argument("expects valid session id") from None
        for stream in self._tracker.streams_of(session_id):
            if stream.mode == StreamMode.NOTIFICATIONS:
                presence = self._tracker.get(session_id, stream)
                if presence is not None:
                    await self._router.close_session(presence, CLOSE_DISCONNECT)
                return

    async def disconnect_banned(self, user_id: str) -> None:
        """Every socket of a just-banned user gets notification -8 ("banned") and is closed."""
        for presence in self._tracker.members(notification_stream(user_id)):
            await self._router.close_session(presence, CLOSE_BANNED)
