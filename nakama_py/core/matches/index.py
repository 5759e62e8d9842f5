"""The cluster-wide index of authoritative matches: every process lists every process's matches.

Each process owns the entries of the matches it hosts and publishes them on the bus topic
``nakama.matches``; every process keeps a replica of all entries, so a listing is a local read.
A new match is indexed at once here and published at once (nakama-js lists right after creating);
label updates are indexed at once here and reach the other processes within
``match.label_update_interval_ms`` (coalesced, one publication per interval). After a bus
(re)connection a process publishes all its entries and asks for the others'; the entries of a
process that leaves the bus membership are dropped by the sweep.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

from nakama_py.cluster.bus import ClusterBus
from nakama_py.core.departed import departed_processes
from nakama_py.core.query import Document, flatten

log = logging.getLogger("nakama_py.matches")

TOPIC = "nakama.matches"
SWEEP_INTERVAL_SEC = 2.0
NEW_PROCESS_GRACE_SEC = 10.0


@dataclass(frozen=True, slots=True)
class IndexEntry:
    match_id: str
    process: str
    label: str
    tick_rate: int
    handler_name: str
    create_time: float
    document: Document       # the label as the query language reads it (``label.<field>``)


def make_entry(match_id: str, process: str, label: str, tick_rate: int, handler_name: str,
               create_time: float) -> IndexEntry:
    try:
        parsed = orjson.loads(label) if label else None
    except orjson.JSONDecodeError:
        parsed = None  # a label need not be JSON: it is then only matched whole (the ``label`` filter)
    document = flatten(parsed, "label") if isinstance(parsed, dict) else {}
    return IndexEntry(match_id, process, label, tick_rate, handler_name, create_time, document)


def _encode(entry: IndexEntry) -> list[Any]:
    return [entry.match_id, entry.label, entry.tick_rate, entry.handler_name, entry.create_time]


class MatchIndex:
    def __init__(self, bus: ClusterBus, label_interval_sec: float) -> None:
        self._bus = bus
        self.process = bus.process
        self._interval = label_interval_sec
        self.entries: dict[str, IndexEntry] = {}
        self._by_process: dict[str, set[str]] = {}
        self._heard: dict[str, float] = {}
        self._pending: dict[str, IndexEntry | None] = {}   # this process's label updates not yet published
        self._replies: set[asyncio.Task[None]] = set()
        bus.subscribe(TOPIC, self._on_message, self._resync, echo=False)

    # --- this process's matches --------------------------------------------------------------

    async def add(self, entry: IndexEntry) -> None:
        self._put(entry)
        self._pending.pop(entry.match_id, None)
        await self._publish({"u": [_encode(entry)]})

    def update(self, entry: IndexEntry) -> None:
        """A label change: indexed here now, published with the next batch."""
        self._put(entry)
        self._pending[entry.match_id] = entry

    async def remove(self, match_id: str) -> None:
        self._drop(match_id)
        self._pending.pop(match_id, None)
        await self._publish({"d": [match_id]})

    def get(self, match_id: str) -> IndexEntry | None:
        return self.entries.get(match_id)

    def count(self) -> int:
        return len(self.entries)

    # --- replica upkeep ------------------------------------------------------------------------

    def _put(self, entry: IndexEntry) -> None:
        self.entries[entry.match_id] = entry
        self._by_process.setdefault(entry.process, set()).add(entry.match_id)

    def _drop(self, match_id: str) -> None:
        entry = self.entries.pop(match_id, None)
        if entry is not None:
            self._by_process.get(entry.process, set()).discard(match_id)

    def _on_message(self, payload: bytes) -> None:
        message = orjson.loads(payload)
        process = message["p"]
        if process == self.process:
            return
        self._heard[process] = time.monotonic()
        if message.get("sync"):
            task = asyncio.get_running_loop().create_task(self._publish_all())
            self._replies.add(task)
            task.add_done_callback(self._replies.discard)
            return
        if "all" in message:
            for match_id in list(self._by_process.get(process, ())):
                self._drop(match_id)
        for item in message.get("all", ()) or message.get("u", ()):
            match_id, label, tick_rate, handler_name, create_time = item
            self._put(make_entry(match_id, process, label, tick_rate, handler_name, create_time))
        for match_id in message.get("d", ()):
            self._drop(match_id)

    async def _publish(self, body: dict[str, Any]) -> None:
        body["p"] = self.process
        await self._bus.publish(TOPIC, orjson.dumps(body))

    async def _publish_all(self) -> None:
        mine = [self.entries[m] for m in self._by_process.get(self.process, ()) if m in self.entries]
        await self._publish({"all": [_encode(entry) for entry in mine]})

    async def _resync(self) -> None:
        await self._publish_all()
        await self._publish({"sync": True})

    async def run(self) -> None:
        """Publish label updates every interval; drop departed processes' entries. For the life of the process."""
        last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(self._interval)
            try:
                if self._pending:
                    pending, self._pending = self._pending, {}
                    updates = [_encode(e) for e in pending.values() if e is not None and e.match_id in self.entries]
                    if updates:
                        await self._publish({"u": updates})
                if time.monotonic() - last_sweep >= SWEEP_INTERVAL_SEC:
                    last_sweep = time.monotonic()
                    self._sweep()
            except Exception:
                log.exception("match index upkeep failed")

    def _sweep(self) -> None:
        for process in departed_processes(self._by_process, self.process, self._bus, self._heard,
                                          NEW_PROCESS_GRACE_SEC):
            for match_id in list(self._by_process.pop(process, ())):
                self.entries.pop(match_id, None)
            self._heard.pop(process, None)
