"""Streaming read replicas (``database.read_address``): which one may serve a read that tolerates
staleness, and when one must be taken out of rotation.

A monitor samples the primary's WAL position (with the primary's clock) and each replica's replay
position every ``check_interval`` seconds. A replica's lag is the age of the newest primary sample
it has replayed: exact to one interval, and, unlike ``pg_last_xact_replay_timestamp``, not inflated
while the primary is idle. A replica that does not answer, is not in recovery (promoted, or not a
replica at all) or lags past ``max_lag`` leaves the rotation and rejoins at the first good check.
A read that fails on a replica (it died between checks) is taken out and retried on the primary,
so a replica going away costs no request.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from psycopg_pool import PoolTimeout

from nakama_py.db.address import describe
from nakama_py.db.errors import SerializationFailure
from nakama_py.db.pool import Database
from nakama_py.errors import DatabaseUnavailable

log = logging.getLogger("nakama_py.db.replicas")

T = TypeVar("T")
CHECK_INTERVAL_SEC = 0.25
CHECK_TIMEOUT_SEC = 1.0
SAMPLES_KEPT = 256  # about a minute of primary positions at the default interval

# Errors that mean "this replica cannot serve now", not "this query is wrong" (a query cancelled by a
# conflict with recovery arrives as a serialization failure).
UNAVAILABLE = (DatabaseUnavailable, SerializationFailure, psycopg.OperationalError, PoolTimeout, TimeoutError)


@dataclass
class Replica:
    db: Database
    in_rotation: bool = False
    lag_sec: float = float("inf")
    replay_lsn: int = 0
    reason: str = "not checked yet"

    @property
    def name(self) -> str:
        return describe(self.db.conninfo)


def parse_lsn(text: str) -> int:
    """``'16/B374D848'`` as one number of bytes."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


class ReplicaSet:
    def __init__(self, primary: Database, conninfos: Sequence[str], *, max_lag_sec: float, pool_size: int = 4,
                 check_interval_sec: float = CHECK_INTERVAL_SEC, name: str = "nakama-py-replica") -> None:
        self.primary = primary
        self.max_lag_sec = max_lag_sec
        self.check_interval_sec = check_interval_sec
        self.replicas = [Replica(Database(c, min_size=1, max_size=pool_size, name=name)) for c in conninfos]
        self._samples: collections.deque[tuple[int, float]] = collections.deque(maxlen=SAMPLES_KEPT)
        self._turn = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self.reads_on_replica = 0
        self.reads_on_primary = 0

    async def start(self) -> None:
        for replica in self.replicas:
            # Not waiting: a replica that is down at start-up joins the rotation when it is back.
            await replica.db.pool.open(wait=False)  # not connect(): that waits
        if self.replicas:
            await self.check()
            self._task = asyncio.create_task(self._monitor(), name="replica-monitor")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for replica in self.replicas:
            await replica.db.pool.close()

    def in_rotation(self) -> list[Replica]:
        return [r for r in self.replicas if r.in_rotation]

    async def read(self, query: Callable[[Database], Awaitable[T]]) -> T:
        """Run a read that tolerates ``max_lag_sec`` of staleness: on a replica in rotation (in turn),
        else on the primary."""
        candidates = self.in_rotation()
        if candidates:
            replica = candidates[next(self._turn) % len(candidates)]
            try:
                result = await query(replica.db)
                self.reads_on_replica += 1
                return result
            except UNAVAILABLE as exc:
                self._take_out(replica, f"read failed: {exc}")
        self.reads_on_primary += 1
        return await query(self.primary)

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval_sec)
            try:
                await self.check()
            except Exception:  # the monitor must outlive any one bad round
                log.exception("replica check failed")

    async def check(self) -> None:
        """One round: sample the primary, then measure every replica against the samples."""
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SEC):
                row = await self.primary.fetchrow(
                    "SELECT pg_current_wal_lsn()::text, extract(epoch FROM clock_timestamp())::float8")
        except Exception as exc:
            log.warning("primary position unavailable", extra={"fields": {"error": str(exc)}})
            return
        if row is not None:
            self._samples.append((parse_lsn(row[0]), float(row[1])))
        await asyncio.gather(*(self._check_one(r) for r in self.replicas))

    async def _check_one(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SEC):
                async with replica.db.connection(timeout=CHECK_TIMEOUT_SEC) as conn:
                    cur = await conn.execute("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
                    row = await cur.fetchone()
        except Exception as exc:
            self._take_out(replica, f"unreachable: {exc}")
            return
        if row is None or not row[0] or row[1] is None:
            self._take_out(replica, "not a streaming replica (not in recovery)")
            return
        replica.replay_lsn = parse_lsn(row[1])
        replica.lag_sec = self._lag(replica.replay_lsn)
        if replica.lag_sec > self.max_lag_sec:
            self._take_out(replica, f"lagging {replica.lag_sec:.3f}s")
            return
        if not replica.in_rotation:
            log.info("replica in rotation", extra={"fields": {"replica": replica.name, "lag_sec": replica.lag_sec}})
        replica.in_rotation, replica.reason = True, ""

    def _lag(self, replayed: int) -> float:
        """Seconds since the newest primary position the replica has not replayed was first seen
        (0 when it has replayed the latest sample)."""
        if not self._samples:
            return float("inf")
        newest_lsn, newest_at = self._samples[-1]
        if replayed >= newest_lsn:
            return 0.0
        oldest_missing_at = newest_at
        for lsn, at in reversed(self._samples):
            if lsn <= replayed:
                break
            oldest_missing_at = at
        else:
            return float("inf")  # behind every sample we kept
        return max(newest_at - oldest_missing_at, 0.0) + self.check_interval_sec

    def _take_out(self, replica: Replica, reason: str) -> None:
        if replica.in_rotation:
            log.warning("replica out of rotation", extra={"fields": {"replica": replica.name, "reason": reason}})
        replica.in_rotation, replica.reason = False, reason

    def status(self) -> list[dict[str, object]]:
        """For metrics and health: each replica's state."""
        return [{"replica": r.name, "in_rotation": r.in_rotation, "lag_sec": r.lag_sec, "reason": r.reason}
                for r in self.replicas]
