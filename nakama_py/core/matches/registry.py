"""This process's authoritative matches, and the way to any match of the cluster.

A match runs on the process that created it (its id names that process). Join attempts, data
and signals for a match of another process go there over the bus (calls.py); presences are the
tracker's, so a player on any process is in the match's stream, receives its broadcasts through
the router, and its joins and leaves reach the host as tracker events.

A process that leaves the bus membership takes its matches with it: the sweep here finds the
match streams whose host is gone, tells this process's players in them (a ``match_presence_event``
with every presence leaving) and removes them; the index drops the dead process's entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nakama_py.cluster.bus import ClusterBus
from nakama_py.config import MatchConfig
from nakama_py.core.matches import ids
from nakama_py.core.matches.calls import MatchCalls
from nakama_py.core.matches.handler import MatchHandler
from nakama_py.core.matches.ids import MatchId
from nakama_py.core.matches.index import MatchIndex, make_entry
from nakama_py.core.matches.types import CALL_TIMEOUT_SEC, JoinResult, MatchCore, MatchMessage
from nakama_py.core.presence import Presence, Stream, StreamMode
from nakama_py.core.router import CLOSE_DISCONNECT, Router
from nakama_py.core.tracker import Tracker
from nakama_py.errors import MatchBusy, MatchNotFound, NakamaError, invalid_argument
from nakama_py.proto.realtime_pb2 import Envelope

log = logging.getLogger("nakama_py.matches")

# Makes a module's handler for a match: (handler name) -> a core, None when no such handler.
MatchFactory = Callable[[str], MatchCore | None]

SWEEP_INTERVAL_SEC = 2.0
NEW_HOST_GRACE_SEC = 10.0


class MatchRegistry:
    def __init__(self, config: MatchConfig, bus: ClusterBus, tracker: Tracker, router: Router,
                 on_tick_late: Callable[[float], None] | None = None,
                 on_count: Callable[[int], None] | None = None) -> None:
        self._config = config
        self._bus = bus
        self._tracker = tracker
        self._router = router
        self.process = bus.process
        self.index = MatchIndex(bus, config.label_update_interval_ms / 1000)
        self.calls = MatchCalls(bus, self)
        self.factory: MatchFactory | None = None  # the runtime's handlers, once modules loaded
        self._matches: dict[str, MatchHandler] = {}  # by match uuid
        self._on_tick_late = on_tick_late or (lambda seconds: None)
        self._on_count = on_count or (lambda count: None)
        self._stopping = False
        self._hosts_noticed: dict[str, float] = {}
        self._seen_alive: set[str] = set()
        tracker.on_event(self._on_presences)

    # --- create, get, count ------------------------------------------------------------------

    async def create(self, name: str, params: Mapping[str, Any] | None = None) -> str:
        """Start a match with the module handler registered as ``name``; its id."""
        if self._stopping:
            raise NakamaError("shutdown in progress", 13)
        core = self.factory(name) if self.factory is not None else None
        if core is None:
            raise NakamaError("error creating match: not found", 13)
        match_id = ids.new_authoritative(self.process)
        handler = MatchHandler(match_id, core, self._config, self)
        await handler.start(dict(params or {}))
        self._matches[match_id.uuid] = handler
        self._on_count(len(self._matches))
        await self.index.add(make_entry(handler.id_str, self.process, handler.label, handler.tick_rate,
                                        core.handler_name, handler.create_time))
        log.info("match started", extra={"fields": {"mid": handler.id_str, "handler": name}})
        return handler.id_str

    def count(self) -> int:
        """Authoritative matches running on this process."""
        return len(self._matches)

    def local(self, match_id: MatchId) -> MatchHandler | None:
        return self._matches.get(match_id.uuid) if match_id.node == self.process else None

    # --- joins, data, signals (to whichever process hosts the match) ---------------------------

    async def join_attempt(self, match_id: MatchId, presence: Presence, metadata: Mapping[str, str]) -> JoinResult:
        if match_id.node == self.process:
            return await self.join_attempt_local(match_id.uuid, presence, metadata)
        try:
            return await self.calls.join_attempt(match_id.node, match_id.uuid, presence, metadata)
        except MatchNotFound:
            return JoinResult(False)

    async def join_attempt_local(self, match_uuid: str, presence: Presence,
                                 metadata: Mapping[str, str]) -> JoinResult:
        handler = self._matches.get(match_uuid)
        if handler is None:
            return JoinResult(False)
        try:
            return await asyncio.wait_for(handler.join_attempt(presence, metadata), CALL_TIMEOUT_SEC)
        except (TimeoutError, MatchBusy):
            return JoinResult(True, False)

    async def send_data(self, match_id: MatchId, message: MatchMessage) -> None:
        if match_id.node == self.process:
            self.send_data_local(match_id.uuid, message)
        else:
            await self.calls.send_data(match_id.node, match_id.uuid, message)

    def send_data_local(self, match_uuid: str, message: MatchMessage) -> None:
        handler = self._matches.get(match_uuid)
        if handler is not None:
            handler.queue_data(message)

    async def signal(self, match_id_text: str, data: str) -> str:
        match_id = ids.parse(match_id_text)
        if match_id is None:
            raise invalid_argument("match id invalid")
        if not match_id.authoritative:
            raise MatchNotFound()
        if match_id.node == self.process:
            return await self.signal_local(match_id.uuid, data)
        return await self.calls.signal(match_id.node, match_id.uuid, data)

    async def signal_local(self, match_uuid: str, data: str) -> str:
        handler = self._matches.get(match_uuid)
        if handler is None:
            raise MatchNotFound()
        try:
            return await asyncio.wait_for(handler.signal(data), CALL_TIMEOUT_SEC)
        except TimeoutError:
            raise MatchBusy() from None

    # --- MatchHost: what a running match asks of its process -----------------------------------

    async def send(self, envelope: Envelope, presences: Sequence[Presence]) -> None:
        await self._router.send_to_presences(presences, envelope)

    async def kick(self, stream: Stream, presences: Sequence[Presence]) -> None:
        for presence in presences:
            await self._tracker.untrack(presence.session_id, stream)

    def label_changed(self, handler: MatchHandler) -> None:
        self.index.update(make_entry(handler.id_str, self.process, handler.label, handler.tick_rate,
                                     handler.core.handler_name, handler.create_time))

    async def removed(self, handler: MatchHandler, *, disconnect: bool) -> None:
        if self._matches.pop(handler.id.uuid, None) is None:
            return
        self._on_count(len(self._matches))
        presences = list(handler.presences.values())
        with contextlib.suppress(Exception):
            await self._tracker.untrack_stream(handler.stream)
        with contextlib.suppress(Exception):
            await self.index.remove(handler.id_str)
        if disconnect:
            for presence in presences:
                with contextlib.suppress(Exception):
                    await self._router.close_session(presence, CLOSE_DISCONNECT)
        log.info("match ended", extra={"fields": {"mid": handler.id_str}})

    def tick_late(self, seconds: float) -> None:
        self._on_tick_late(seconds)

    # --- presences (tracker events, on every process; this process acts for its own matches) ---

    def _on_presences(self, stream: Stream, joins: list[Presence], leaves: list[Presence]) -> None:
        if stream.mode != StreamMode.MATCH_AUTHORITATIVE or stream.label != self.process:
            return
        handler = self._matches.get(stream.subject)
        if handler is None:
            return
        if joins:
            handler.tracker_joined(joins)
        if leaves:
            handler.tracker_left(leaves)

    async def sweep(self) -> None:
        """End, for this process's players, the matches whose host left the cluster. For the life of the process."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_SEC)
            try:
                await self._end_orphans()
            except Exception:
                log.exception("match sweep failed")

    async def _end_orphans(self) -> None:
        alive = {info.process for info in self._bus.alive()}
        now = time.monotonic()
        self._seen_alive |= alive
        streams = self._tracker.streams(StreamMode.MATCH_AUTHORITATIVE)
        hosts = {stream.label for stream in streams}
        for host in [h for h in self._hosts_noticed if h not in hosts]:
            del self._hosts_noticed[host]  # nothing of it left here
        for stream in streams:
            host = stream.label
            if host == self.process or host in alive:
                continue
            # A host seen alive before is gone; one never seen may be too new for the membership list.
            noticed = self._hosts_noticed.setdefault(host, now)
            if host in self._seen_alive or now - noticed >= NEW_HOST_GRACE_SEC:
                await self._end_for_local_players(stream)

    async def _end_for_local_players(self, stream: Stream) -> None:
        members = self._tracker.members(stream)
        mine = [p for p in members if p.process == self.process]
        if not mine:
            return
        envelope = Envelope()
        event = envelope.match_presence_event
        event.match_id = str(ids.from_stream(stream))
        event.leaves.extend(p.to_proto() for p in members)
        await self._router.send_to_presences(mine, envelope)
        for presence in mine:
            await self._tracker.untrack(presence.session_id, stream)
        log.info("match ended for its players here: its host left the cluster",
                 extra={"fields": {"mid": event.match_id, "players": len(mine)}})

    # --- shutdown -----------------------------------------------------------------------------

    async def stop(self, grace_seconds: int) -> None:
        """Nakama's shutdown: every match's ``match_terminate`` with the grace period; matches still
        running when it is over are stopped."""
        self._stopping = True
        handlers = list(self._matches.values())
        if not handlers:
            return
        for handler in handlers:
            if grace_seconds <= 0:  # Nakama: no grace period, no match_terminate: the matches stop now
                handler.cancel()
            else:
                handler.terminate(grace_seconds)
        waiting = [asyncio.ensure_future(h.done.wait()) for h in handlers]
        _done, pending = await asyncio.wait(waiting, timeout=max(grace_seconds, 0) + 1.0)
        for task in pending:
            task.cancel()
        for handler in handlers:
            if not handler.stopped:
                handler.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(h.done.wait() for h in handlers)), 2.0)

