"""Read-your-writes between the worker processes of one server (``socket.workers`` > 1).

A worker tells the others about its leaderboard writes over the cluster bus
(core/rank_sync.py), a few milliseconds after answering the writer. A player whose next
request reaches another worker (another connection) could read their standing there before
it knows of the write. So the supervisor creates one shared memory region before it forks the
workers (``MarkRegion``: a memfd, whose descriptor a worker restarted as a fresh interpreter
inherits and maps again); in it each worker keeps

- ``head``: the sequence number of its latest published change, and
- ``slots``: for each of ``SLOTS`` owner groups (an owner id modulo ``SLOTS``), the sequence
  number of its latest change to a record of an owner in that group.

A worker about to answer a user compares each peer's slot for that user with the peer's
sequence it has applied (its bus messages carry it), and only when it is behind does it wait
for the peer's next message, at most ``ranks.VISIBILITY_BOUND_SEC``. Past that it rebuilds
its ranks from the database, which also covers a peer that died between its commit and its
publication. The common case costs a few shared-memory reads and no waiting.

Processes of other servers (other machines) are not covered: between servers, changes
become visible within the bound of core/ranks.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import time
from collections.abc import Callable, Sequence

SLOTS = 4096
_CELLS = SLOTS + 1  # per worker: the head, then the slots


def slot_of(owner: int) -> int:
    """The group of an owner (a UUID as an int; version 4 ids are random in their low bits)."""
    return owner % SLOTS


class MarkRegion:
    """The shared memory of one supervisor's workers, created before forking. It outlives a
    worker: a restarted worker continues its predecessor's sequence, so numbers never go back.

    ``fd``: the region's memfd, inheritable (it survives exec). Without ``fd`` a new region
    is created; with it (a restarted worker) the existing one is mapped."""

    def __init__(self, workers: int, fd: int | None = None) -> None:
        if workers < 2:
            raise ValueError("write marks are for two or more workers")
        self.workers = workers
        size = workers * _CELLS * 8
        if fd is None:
            fd = os.memfd_create("nakama-py-write-marks", 0)
            os.ftruncate(fd, size)
        os.set_inheritable(fd, True)
        self.fd = fd
        self._map = mmap.mmap(fd, size)  # shared: every process mapping the memfd sees the same cells
        self.cells = memoryview(self._map).cast("Q")


class WriteMarks:
    """One worker's view of the region: its own marks, and the siblings' marks it has heard
    (the ``cluster.bus.WorkerMarks`` that core uses)."""

    def __init__(self, region: MarkRegion, index: int) -> None:
        if not 0 <= index < region.workers:
            raise ValueError(f"worker index {index} out of range")
        self.workers = region.workers
        self.index = index
        self._cells = region.cells
        self._applied = [0] * region.workers  # per sibling: the highest of its sequence numbers applied here
        self._heard: asyncio.Event | None = None
        self.on_late: Callable[[], None] | None = None  # called when a sibling's change did not arrive in time

    # --- the writer's side ---------------------------------------------------------------

    def mark(self, owner: int | None) -> int:
        """Count one published change (of ``owner``'s record, when given); its sequence number."""
        base = self.index * _CELLS
        cells = self._cells
        sequence = cells[base] + 1
        if owner is not None:
            cells[base + 1 + slot_of(owner)] = sequence
        cells[base] = sequence  # after the slot: a reader never sees a head that skips a slot
        return sequence

    # --- the reader's side ---------------------------------------------------------------

    def heads(self) -> list[int]:
        """Every worker's latest sequence number, read before loading ranks from the database."""
        return [self._cells[w * _CELLS] for w in range(self.workers)]

    def loaded(self, heads: Sequence[int]) -> None:
        """Ranks were (re)built from the database after ``heads`` were read: every change
        counted in them was committed before, so it is in what was loaded."""
        for worker, head in enumerate(heads):
            self.heard(worker, head)

    def heard(self, worker: int, sequence: int) -> None:
        """A peer's changes up to ``sequence`` are applied here."""
        if 0 <= worker < self.workers and sequence > self._applied[worker]:
            self._applied[worker] = sequence
            if self._heard is not None:
                self._heard.set()
                self._heard = None

    def _behind(self, slot: int) -> bool:
        cells = self._cells
        applied = self._applied
        for worker in range(self.workers):
            if worker != self.index and cells[worker * _CELLS + 1 + slot] > applied[worker]:
                return True
        return False

    async def caught_up(self, owner: int, bound: float) -> bool:
        """Wait until every change of ``owner``'s records published by a peer is applied here;
        False (and ``on_late`` called) when that took longer than ``bound`` seconds."""
        slot = slot_of(owner)
        if not self._behind(slot):
            return True
        deadline = time.monotonic() + bound
        while self._behind(slot):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if self.on_late is not None:
                    self.on_late()
                return False
            if self._heard is None:
                self._heard = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._heard.wait(), remaining)
        return True
