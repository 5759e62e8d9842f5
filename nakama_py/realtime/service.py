"""The realtime layer of one process: opens and closes socket sessions around the pipeline.

Opening a session puts it on its user's notification stream (hidden) and, with ``status=true``,
on its status stream; with ``session.single_socket`` the user's other sockets, on any process,
are closed. Closing removes every presence of the session and tells the features that keep
per-session state (status follows).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from nakama_py.config import SessionConfig
from nakama_py.core.presence import PresenceMeta, notification_stream, status_stream
from nakama_py.core.router import Router
from nakama_py.core.status import StatusFollows
from nakama_py.core.tracker import Tracker
from nakama_py.realtime.pipeline import Pipeline
from nakama_py.realtime.presence_events import PresenceEvents
from nakama_py.realtime.registry import SessionRegistry
from nakama_py.realtime.session import SocketSession

log = logging.getLogger("nakama_py.realtime")

SessionListener = Callable[[SocketSession], Awaitable[None]]


class Realtime:
    def __init__(self, config: SessionConfig, registry: SessionRegistry, tracker: Tracker, router: Router,
                 pipeline: Pipeline, follows: StatusFollows) -> None:
        self._config = config
        self.registry = registry
        self.tracker = tracker
        self.router = router
        self.pipeline = pipeline
        self.follows = follows
        self.presence_events = PresenceEvents(tracker, registry, follows)
        self._on_open: list[SessionListener] = []
        self._on_close: list[SessionListener] = []

    def on_open(self, listener: SessionListener) -> None:
        self._on_open.append(listener)

    def on_close(self, listener: SessionListener) -> None:
        self._on_close.append(listener)

    async def open(self, session: SocketSession, *, status: bool) -> None:
        self.registry.add(session)
        session.start(self._closed)
        # As in Nakama, a socket follows its own user: it sees the status of the user's other sockets.
        self.follows.follow(session.id, {session.user_id})
        meta = PresenceMeta(session.username, hidden=True)
        if self._config.single_socket:
            # Other sockets of the user close, wherever they are (each process closes its own).
            for other in self.tracker.members(notification_stream(session.user_id)):
                if other.session_id != session.id:
                    await self.router.close_session(other)
        await self.tracker.track(session.id, session.user_id, notification_stream(session.user_id), meta)
        if status:
            await self.tracker.track(session.id, session.user_id, status_stream(session.user_id),
                                     PresenceMeta(session.username))
        for listener in self._on_open:
            await listener(session)

    async def _closed(self, session: SocketSession) -> None:
        self.registry.remove(session)
        self.follows.unfollow_all(session.id)
        await self.tracker.untrack_all(session.id)
        for listener in self._on_close:
            try:
                await listener(session)
            except Exception:
                log.exception("session close listener failed")

    async def shutdown(self) -> None:
        await self.registry.close_all("server shutting down")
