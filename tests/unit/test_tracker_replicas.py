"""The tracker's replica rules between processes, over an in-memory stand-in for the cluster bus
(the real bus between real processes is covered by tests/test_realtime_processes.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from nakama_py.cluster.bus import Handler, NodeInfo, Resync
from nakama_py.core import tracker as tracker_module
from nakama_py.core.presence import Presence, PresenceMeta, Stream
from nakama_py.core.tracker import Tracker

ROOM = Stream(30, "", "", "lobby")


class Loopback:
    """Processes on one in-memory bus: a publication reaches every other process's subscribers."""

    def __init__(self) -> None:
        self.buses: list[LoopbackBus] = []


class LoopbackBus:
    def __init__(self, cluster: Loopback, name: str) -> None:
        self.cluster = cluster
        self._process = name
        self.handlers: dict[str, list[Handler]] = {}
        self.resyncs: list[Resync] = []
        self.dead = False
        cluster.buses.append(self)

    @property
    def node(self) -> str:
        return self._process

    @property
    def process(self) -> str:
        return self._process

    def subscribe(self, topic: str, handler: Handler, resync: Resync | None = None, *, echo: bool = True) -> None:
        self.handlers.setdefault(topic, []).append(handler)
        if resync is not None:
            self.resyncs.append(resync)

    async def publish(self, topic: str, payload: bytes) -> None:
        if self.dead:
            return
        for bus in self.cluster.buses:
            if bus is not self and not bus.dead:
                for handler in bus.handlers.get(topic, ()):
                    handler(payload)

    def alive(self) -> list[NodeInfo]:
        return [NodeInfo(b.node, b.process, 0.0) for b in self.cluster.buses if not b.dead]

    async def start(self) -> None:
        for resync in self.resyncs:
            await resync()

    async def stop(self) -> None:
        self.dead = True


def recorder(tracker: Tracker) -> list[tuple[str, str, str]]:
    events: list[tuple[str, str, str]] = []

    def listen(stream: Stream, joins: list[Presence], leaves: list[Presence]) -> None:
        events.extend(("join", p.session_id, p.process) for p in joins)
        events.extend(("leave", p.session_id, p.process) for p in leaves)

    tracker.on_event(listen)
    return events


async def test_joins_and_leaves_replicate_with_events() -> None:
    cluster = Loopback()
    a, b = Tracker(LoopbackBus(cluster, "a")), Tracker(LoopbackBus(cluster, "b"))
    seen_by_b = recorder(b)
    assert await a.track("s1", "u1", ROOM, PresenceMeta("alice"))
    assert not await a.track("s1", "u1", ROOM, PresenceMeta("alice"))  # already there
    await a.track("s1", "u1", Stream(31), PresenceMeta("alice", hidden=True))
    assert [(p.session_id, p.process) for p in b.members(ROOM)] == [("s1", "a")]
    assert b.member_count(Stream(31)) == 1 and b.members(Stream(31), include_hidden=False) == []
    assert seen_by_b == [("join", "s1", "a")]  # hidden presences raise no events
    await a.untrack_all("s1")
    assert b.members(ROOM) == [] and seen_by_b[-1] == ("leave", "s1", "a")


async def test_a_process_joining_late_gets_everyones_presences() -> None:
    cluster = Loopback()
    a = Tracker(LoopbackBus(cluster, "a"))
    await a.track("s1", "u1", ROOM, PresenceMeta("alice"))
    late_bus = LoopbackBus(cluster, "c")
    late = Tracker(late_bus)
    late_bus.dead = True  # not connected yet: what it publishes now is lost
    await late.track("s3", "u3", ROOM, PresenceMeta("carol"))
    late_bus.dead = False
    await late_bus.start()  # (re)connection: publish own presences, ask for the others'
    await asyncio.sleep(0)  # the replies are sent from tasks
    await asyncio.sleep(0)
    assert sorted(p.session_id for p in late.members(ROOM)) == ["s1", "s3"]
    assert sorted(p.session_id for p in a.members(ROOM)) == ["s1", "s3"]


async def test_a_dead_process_presences_are_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracker_module, "SWEEP_INTERVAL_SEC", 0.01)
    monkeypatch.setattr(tracker_module, "NEW_PROCESS_GRACE_SEC", 0.05)
    cluster = Loopback()
    a_bus, b_bus = LoopbackBus(cluster, "a"), LoopbackBus(cluster, "b")
    a, b = Tracker(a_bus), Tracker(b_bus)
    seen_by_a = recorder(a)
    await b.track("s2", "u2", ROOM, PresenceMeta("bob"))
    await a.track("s1", "u1", ROOM, PresenceMeta("alice"))
    sweeper = asyncio.create_task(a.sweep())
    try:
        await asyncio.sleep(0.1)
        assert a.member_count(ROOM) == 2  # b is alive: nothing swept
        b_bus.dead = True  # killed: no leave is ever published
        died = time.monotonic()
        while a.member_count(ROOM) != 1:
            assert time.monotonic() - died < 1
            await asyncio.sleep(0.01)
    finally:
        sweeper.cancel()
    assert [p.session_id for p in a.members(ROOM)] == ["s1"]
    assert seen_by_a[-1] == ("leave", "s2", "b")
