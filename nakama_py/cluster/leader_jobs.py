"""Jobs that run on exactly one server process of the cluster at a time.

Every process that has a job competes for a PostgreSQL session-level advisory lock named after
it, on one dedicated connection per process (cluster/connection.py). The holder runs the job
every ``interval`` seconds; the others retry the lock every ``retry_sec``. The lock belongs to the
connection, so when the holder stops or dies PostgreSQL releases it and another process takes
the job over within ``retry_sec``. The holder checks its connection every ``retry_sec`` and stops
its jobs when the connection is gone (someone else may hold the lock by then).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from nakama_py.cluster.connection import DedicatedConnection
from nakama_py.cluster.tasks import cancel_and_wait
from nakama_py.db import leader_locks as sql

log = logging.getLogger("nakama_py.cluster")

RETRY_SEC = 1.0
MAX_RETRY_SEC = 5.0


@dataclass(frozen=True, slots=True)
class LeaderJob:
    name: str
    interval: float  # seconds from one run's start to the next
    run: Callable[[], Awaitable[None]]  # failures are the job's own to log: a raise ends the holding


def lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for a job name."""
    digest = hashlib.blake2b(f"nakama-py/job/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LeaderJobs:
    def __init__(self, conninfo: str, jobs: Sequence[LeaderJob], *, retry_sec: float = RETRY_SEC) -> None:
        self.jobs = list(jobs)
        self.retry_sec = retry_sec
        self._running: dict[str, asyncio.Task[None]] = {}
        self._connection = DedicatedConnection(conninfo, "nakama-py-jobs", self._lead, retry_sec=retry_sec,
                                               max_retry_sec=max(MAX_RETRY_SEC, retry_sec))

    @property
    def held(self) -> list[str]:
        """The jobs this process holds right now."""
        return sorted(name for name, task in self._running.items() if not task.done())

    def start(self) -> None:
        if self.jobs:
            self._connection.start()

    async def stop(self) -> None:
        await self._connection.stop()

    async def _lead(self, conn: AsyncConnection[Any]) -> None:
        try:
            while True:
                for job in self.jobs:
                    if job.name not in self._running and await sql.try_lock(conn, lock_key(job.name)):
                        log.info("background job acquired", extra={"fields": {"job": job.name}})
                        self._running[job.name] = asyncio.create_task(self._repeat(job), name=f"job-{job.name}")
                await asyncio.sleep(self.retry_sec)
                await sql.ping(conn)  # the locks live as long as this session does
        finally:
            await self._release()

    async def _release(self) -> None:
        tasks = list(self._running.values())
        self._running.clear()
        await cancel_and_wait(*tasks)

    @staticmethod
    async def _repeat(job: LeaderJob) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await job.run()
            await asyncio.sleep(max(0.0, job.interval - (loop.time() - started)))
