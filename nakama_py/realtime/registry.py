"""The sockets connected to this process, by session id and by user (the router's ``LocalSessions``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence

from aiohttp import WSCloseCode

from nakama_py.core.notifications import CODE_BANNED, CODE_SINGLE_SOCKET
from nakama_py.core.router import CLOSE_BANNED, CLOSE_REPLACED
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.realtime.codec import Format, encode
from nakama_py.realtime.session import SocketSession


def _notice(subject: str, code: int) -> Envelope:
    envelope = Envelope()
    note = envelope.notifications.notifications.add(id=str(uuid.uuid4()), subject=subject, content="{}", code=code)
    note.create_time.FromSeconds(int(time.time()))
    return envelope


def single_socket_notice() -> Envelope:
    return _notice("single_socket", CODE_SINGLE_SOCKET)


# What a client is told before the server closes its socket, by reason (none: closed without a word).
def banned_notice() -> Envelope:
    return _notice("banned", CODE_BANNED)


_NOTICES: dict[str, Callable[[], Envelope]] = {CLOSE_REPLACED: single_socket_notice, CLOSE_BANNED: banned_notice}
_CLOSE_TEXT = {CLOSE_REPLACED: "replaced by a newer socket of the user", CLOSE_BANNED: "account banned"}


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

    def disconnect(self, session_ids: Sequence[str], reason: str = CLOSE_REPLACED) -> None:
        """Like Nakama, tell the socket why (``single_socket`` -7, ``banned`` -8) and close it."""
        notice = _NOTICES.get(reason)
        for session_id in session_ids:
            session = self._sessions.get(session_id)
            if session is not None:
                if notice is not None:
                    session.send(notice())
                session.start_close(_CLOSE_TEXT.get(reason, "server-side session disconnect"))

    async def close_all(self, reason: str) -> None:
        """Server shutdown: every socket gets a going-away close."""
        sessions = list(self._sessions.values())
        await asyncio.gather(*(s.close(reason, WSCloseCode.GOING_AWAY) for s in sessions), return_exceptions=True)
