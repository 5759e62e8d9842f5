"""The sockets connected to this process, by session id and by user (the router's ``LocalSessions``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

from aiohttp import WSCloseCode

from nakama_py.core.notifications import CODE_SINGLE_SOCKET
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.codec import Format, encode
from nakama_py.realtime.session import SocketSession


def single_socket_notice() -> Envelope:
    envelope = Envelope()
    note = envelope.notifications.notifications.add(id=str(uuid.uuid4()), subject="single_socket", content="{}",
                                                    code=CODE_SINGLE_SOCKET)
    note.create_time.FromSeconds(int(time.time()))
    return envelope


class SessionRegistry:
    def __init__(self) -> None:
        self._sessions: dict[str, SocketSession] = {}
        self._by_user: dict[str, dict[str, SocketSession]] = {}

    def add(self, session: SocketSession) -> None:
        self._sessions[session.id] = session
        self._by_user.setdefault(session.user_id, {})[session.id] = session

    def remove(self, session: SocketSession) -> None:
        self._sessions.pop(session.id, None)
        own = self._by_user.get(session.user_id)
        if own is not None:
            own.pop(session.id, None)
            if not own:
                del self._by_user[session.user_id]

    def get(self, session_id: str) -> SocketSession | None:
        return self._sessions.get(session_id)

    def of_user(self, user_id: str) -> list[SocketSession]:
        return list(self._by_user.get(user_id, {}).values())

    def __len__(self) -> int:
        return len(self._sessions)

    def deliver(self, session_ids: Sequence[str], envelope: Envelope) -> None:
        """Encode once per format, however many sessions receive it."""
        frames: dict[Format, bytes | str] = {}
        for session_id in session_ids:
            session = self._sessions.get(session_id)
            if session is None:
                continue
            frame = frames.get(session.format)
            if frame is None:
                frame = frames[session.format] = encode(envelope, session.format)
            session.enqueue(frame)

    def disconnect(self, session_ids: Sequence[str]) -> None:
        """``session.single_socket``: like Nakama, tell the socket why (code -7) and close it."""
        for session_id in session_ids:
            session = self._sessions.get(session_id)
            if session is not None:
                session.send(single_socket_notice())
                session.start_close("replaced by a newer socket of the user")

    async def close_all(self, reason: str) -> None:
        """Server shutdown: every socket gets a going-away close."""
        sessions = list(self._sessions.values())
        await asyncio.gather(*(s.close(reason, WSCloseCode.GOING_AWAY) for s in sessions), return_exceptions=True)
