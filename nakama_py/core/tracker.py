"""The tracker: every presence of the cluster, and who is told when presences come and go.

Each process owns the presences of its own sockets and publishes their joins and leaves on the
cluster bus; every process keeps a replica of all of them, so listing a stream's members is a
local read on any process. Presence events (joins and leaves of visible presences) go to the
listeners of every process, each of which tells its own sockets: no event crosses the bus twice.

Consistency: a process that (re)connects to the bus asks the others for their presences and
publishes its own. A process that stops publishing (killed, partitioned) disappears from the
bus's membership; its presences are dropped (with leave events) within ``membership bound +
SWEEP_INTERVAL_SEC``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from nakama_py.cluster.bus import ClusterBus
from nakama_py.core.departed import departed_processes
from nakama_py.core.presence import Presence, PresenceMeta, Stream, StreamMode, notification_stream

log = logging.getLogger("nakama_py.realtime")

TOPIC = "nakama.tracker"
SWEEP_INTERVAL_SEC = 2.0
# A process first heard of this recently may not be in the membership list yet.
NEW_PROCESS_GRACE_SEC = 10.0

PresenceListener = Callable[[Stream, list[Presence], list[Presence]], None]


def _encode(presence: Presence) -> list[Any]:
    s, m = presence.stream, presence.meta
    return [s.mode, s.subject, s.subcontext, s.label, presence.user_id, presence.session_id, m.username,
            m.hidden, m.persistence, m.status, presence.process]


def _decode(item: list[Any]) -> Presence:
    mode, subject, subcontext, label, user_id, session_id, username, hidden, persistence, status, process = item
    return Presence(Stream(mode, subject, subcontext, label), user_id, session_id, process,
                    PresenceMeta(username, hidden, persistence, status))


class Tracker:
    def __init__(self, bus: ClusterBus) -> None:
        self._bus = bus
        self.process = bus.process
        self._by_stream: dict[Stream, dict[str, Presence]] = {}        # stream -> session id -> presence
        self._by_session: dict[str, dict[Stream, Presence]] = {}       # session id -> its presences
        self._by_process: dict[str, set[tuple[Stream, str]]] = {}
        self._heard: dict[str, float] = {}
        self._listeners: list[PresenceListener] = []
        self._replies: set[asyncio.Task[None]] = set()
        bus.subscribe(TOPIC, self._on_message, self._resync, echo=False)

    def on_event(self, listener: PresenceListener) -> None:
        self._listeners.append(listener)

    # --- this process's presences ------------------------------------------------------------

    async def track(self, session_id: str, user_id: str, stream: Stream, meta: PresenceMeta, *,
                    process: str = "") -> bool:
        """Add the session (of this process unless ``process`` names another) to the stream;
        False when it was already there (nothing changes)."""
        if stream in self._by_session.get(session_id, {}):
            return False
        presence = Presence(stream, user_id, session_id, process or self.process, meta)
        self._apply([presence], [])
        await self._publish({"j": [_encode(presence)]})
        return True

    async def update(self, session_id: str, user_id: str, stream: Stream, meta: PresenceMeta) -> bool:
        """Change the session's meta on the stream (a leave of the old and a join of the new)."""
        old = self._by_session.get(session_id, {}).get(stream)
        presence = Presence(stream, user_id, session_id, old.process if old else self.process, meta)
        leaves = [old] if old is not None else []
        self._apply([presence], leaves)
        await self._publish({"l": [_encode(p) for p in leaves], "j": [_encode(presence)]})
        return old is None

    async def untrack(self, session_id: str, stream: Stream) -> None:
        presence = self._by_session.get(session_id, {}).get(stream)
        if presence is not None:
            self._apply([], [presence])
            await self._publish({"l": [_encode(presence)]})

    async def untrack_all(self, session_id: str) -> None:
        presences = list(self._by_session.get(session_id, {}).values())
        if presences:
            self._apply([], presences)
            await self._publish({"l": [_encode(p) for p in presences]})

    async def untrack_stream(self, stream: Stream) -> None:
        """Remove every presence from the stream, on every process."""
        members = list(self._by_stream.get(stream, {}).values())
        if members:
            self._apply([], members)
            await self._publish({"l": [_encode(p) for p in members]})

    # --- reads (any process's presences) ------------------------------------------------------

    def members(self, stream: Stream, *, include_hidden: bool = True) -> list[Presence]:
        members = self._by_stream.get(stream, {}).values()
        return [p for p in members if include_hidden or not p.meta.hidden]

    def streams(self, mode: int) -> list[Stream]:
        """Every stream of this mode with members (matches: relayed for listing, authoritative for the sweep)."""
        return [stream for stream in self._by_stream if stream.mode == mode]

    def online(self, user_ids: Iterable[str]) -> set[str]:
        """The users with a live socket anywhere in the cluster (each socket is on its user's
        notification stream), for the ``online`` flag of users, friends and group members."""
        return {user_id for user_id in user_ids if self.member_count(notification_stream(user_id))}

    def member_count(self, stream: Stream) -> int:
        return len(self._by_stream.get(stream, {}))

    def get(self, session_id: str, stream: Stream) -> Presence | None:
        return self._by_session.get(session_id, {}).get(stream)

    def sessions(self) -> list[Presence]:
        """Every live socket of the cluster: each session's presence on its user's notification stream."""
        return [presence for streams in self._by_session.values() for stream, presence in streams.items()
                if stream.mode == StreamMode.NOTIFICATIONS]

    def streams_of(self, session_id: str) -> list[Stream]:
        return list(self._by_session.get(session_id, {}))

    def session_count(self) -> int:
        return len(self._by_session)

    def presence_count(self) -> int:
        """Presences on every stream, every process (a session counts once per stream it is on)."""
        return sum(len(presences) for presences in self._by_session.values())

    # --- replica upkeep -----------------------------------------------------------------------

    def _apply(self, joins: Iterable[Presence], leaves: Iterable[Presence]) -> None:
        left: list[Presence] = []
        for presence in leaves:
            members = self._by_stream.get(presence.stream)
            current = members.get(presence.session_id) if members else None
            if current is None or members is None:
                continue
            del members[presence.session_id]
            if not members:
                del self._by_stream[presence.stream]
            own = self._by_session[presence.session_id]
            del own[presence.stream]
            if not own:
                del self._by_session[presence.session_id]
            self._by_process.get(current.process, set()).discard(current.key)
            left.append(current)
        joined: list[Presence] = []
        for presence in joins:
            self._by_stream.setdefault(presence.stream, {})[presence.session_id] = presence
            self._by_session.setdefault(presence.session_id, {})[presence.stream] = presence
            self._by_process.setdefault(presence.process, set()).add(presence.key)
            joined.append(presence)
        self._emit(joined, left)

    def _emit(self, joins: list[Presence], leaves: list[Presence]) -> None:
        events: dict[Stream, tuple[list[Presence], list[Presence]]] = {}
        for presence in joins:
            if not presence.meta.hidden:
                events.setdefault(presence.stream, ([], []))[0].append(presence)
        for presence in leaves:
            if not presence.meta.hidden:
                events.setdefault(presence.stream, ([], []))[1].append(presence)
        for stream, (joined, left) in events.items():
            for listener in self._listeners:
                try:
                    listener(stream, joined, left)
                except Exception:
                    log.exception("presence listener failed")

    def _drop_process(self, process: str) -> None:
        keys = self._by_process.pop(process, set())
        self._heard.pop(process, None)
        gone = [self._by_stream[stream][session] for stream, session in keys
                if session in self._by_stream.get(stream, {})]
        if gone:
            log.info("presences of a departed process removed",
                     extra={"fields": {"process": process, "presences": len(gone)}})
            self._apply([], gone)

    def _replace_process(self, process: str, presences: list[Presence]) -> None:
        current = {key: self._by_stream[key[0]][key[1]] for key in self._by_process.get(process, set())
                   if key[1] in self._by_stream.get(key[0], {})}
        wanted = {p.key: p for p in presences}
        leaves = [p for key, p in current.items() if wanted.get(key) != p]
        joins = [p for key, p in wanted.items() if current.get(key) != p]
        self._apply(joins, leaves)

    def _on_message(self, payload: bytes) -> None:
        message = orjson.loads(payload)
        process = message["p"]
        if process == self.process:
            return
        self._heard[process] = time.monotonic()
        if "all" in message:
            self._replace_process(process, [_decode(item) for item in message["all"]])
        elif message.get("sync"):
            task = asyncio.get_running_loop().create_task(self._publish_all())
            self._replies.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(self._replies.discard)
        else:
            self._apply([_decode(item) for item in message.get("j", ())],
                        [_decode(item) for item in message.get("l", ())])

    async def _publish(self, body: dict[str, Any]) -> None:
        body["p"] = self.process
        await self._bus.publish(TOPIC, orjson.dumps(body))

    async def _publish_all(self) -> None:
        mine = [self._by_stream[stream][session] for stream, session in self._by_process.get(self.process, set())]
        await self._publish({"all": [_encode(p) for p in mine]})

    async def _resync(self) -> None:
        """After a (re)connection: tell the others what this process holds and ask for theirs."""
        await self._publish_all()
        await self._publish({"sync": True})

    async def sweep(self) -> None:
        """Drop the presences of processes that left the cluster; runs for the life of the process."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_SEC)
            try:
                for process in departed_processes(self._by_process, self.process, self._bus, self._heard,
                                                  NEW_PROCESS_GRACE_SEC):
                    self._drop_process(process)
            except Exception:
                log.exception("presence sweep failed")
