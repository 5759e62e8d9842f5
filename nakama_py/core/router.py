"""The message router: delivers an envelope to presences wherever their sockets are.

Sessions of this process get it directly (through ``LocalSessions``); for each other process
holding recipients, one bus message carries the envelope once (protobuf) with the list of its
session ids, on that process's own topic.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

import orjson

from nakama_py.cluster.bus import ClusterBus
from nakama_py.core.presence import Presence, Stream, notification_stream
from nakama_py.core.tracker import Tracker
from nakama_py.proto.realtime_pb2 import Envelope

log = logging.getLogger("nakama_py.realtime")

TOPIC_PREFIX = "nakama.deliver."

# Why a socket is closed from the server side; the socket's process tells its client accordingly.
CLOSE_REPLACED = "replaced"      # session.single_socket: a newer socket of the user (notification -7)
CLOSE_BANNED = "banned"          # the account was banned (notification -8)
CLOSE_DISCONNECT = "disconnect"  # the runtime's session_disconnect (no notification)


class LocalSessions(Protocol):
    def deliver(self, session_ids: Sequence[str], envelope: Envelope) -> None:
        """Queue the envelope on each of these sessions of this process (unknown ids are skipped)."""

    def disconnect(self, session_ids: Sequence[str], reason: str = CLOSE_REPLACED) -> None:
        """Close these sessions of this process, telling each client why (``CLOSE_*``)."""


class Router:
    def __init__(self, bus: ClusterBus, tracker: Tracker, local: LocalSessions) -> None:
        self._bus = bus
        self._tracker = tracker
        self._local = local
        self.process = bus.process
        bus.subscribe(TOPIC_PREFIX + self.process, self._on_message, echo=False)

    async def send_to_presences(self, presences: Iterable[Presence], envelope: Envelope) -> None:
        by_process: dict[str, list[str]] = {}
        for presence in presences:
            by_process.setdefault(presence.process, []).append(presence.session_id)
        if not by_process:
            return
        local = by_process.pop(self.process, None)
        if local:
            self._local.deliver(local, envelope)
        if by_process:
            body = envelope.SerializeToString()
            for process, sessions in by_process.items():
                header = orjson.dumps(sessions)
                await self._bus.publish(TOPIC_PREFIX + process, header + b"\n" + body)

    async def send_to_sessions(self, sessions: Iterable[tuple[str, str]], envelope: Envelope) -> None:
        """Sessions named by (user id, session id), wherever their sockets are (the tracker knows
        each socket's process); sessions that have closed are skipped."""
        found = (self._tracker.get(session_id, notification_stream(user_id)) for user_id, session_id in sessions)
        await self.send_to_presences((p for p in found if p is not None), envelope)

    async def send_to_stream(self, stream: Stream, envelope: Envelope, *, exclude_session: str = "") -> None:
        members = self._tracker.members(stream)
        await self.send_to_presences((p for p in members if p.session_id != exclude_session), envelope)

    async def send_to_all(self, envelope: Envelope) -> None:
        """Every socket of the cluster."""
        await self.send_to_presences(self._tracker.sessions(), envelope)

    async def send_to_user(self, user_id: str, envelope: Envelope) -> None:
        """Every socket of the user, on any process (each socket is on its notification stream)."""
        await self.send_to_stream(notification_stream(user_id), envelope)

    async def close_session(self, presence: Presence, reason: str = CLOSE_REPLACED) -> None:
        if presence.process == self.process:
            self._local.disconnect([presence.session_id], reason)
        else:
            await self._bus.publish(TOPIC_PREFIX + presence.process,
                                    orjson.dumps({"close": [presence.session_id], "reason": reason}))

    def _on_message(self, payload: bytes) -> None:
        header, _, body = payload.partition(b"\n")
        try:
            sessions = orjson.loads(header)
            if isinstance(sessions, dict):
                self._local.disconnect(sessions["close"], str(sessions.get("reason", CLOSE_REPLACED)))
                return
            envelope = Envelope.FromString(body)
        except Exception:
            log.warning("undecodable delivery from the bus dropped")
            return
        self._local.deliver(sessions, envelope)
