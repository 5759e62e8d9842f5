"""Background jobs that run on exactly one server process at a time.

Every process that registered a job competes for a PostgreSQL session-level
advisory lock named after it, on one dedicated connection per process. The holder
runs the job every ``interval`` seconds; the others retry the lock every
``RETRY_SEC``. The lock belongs to the connection, so when the holder stops or
dies, PostgreSQL releases it and another process takes the job over. The holder
checks its connection every ``RETRY_SEC`` and stops its jobs when the connection
is gone (someone else may hold the lock by then).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from psycopg import AsyncConnection

from nakama_py.runtime.registry import TaskEntry

log = logging.getLogger("nakama_py.runtime")

RETRY_SEC = 1.0
MAX_RETRY_SEC = 5.0
Runner = Callable[[TaskEntry], Awaitable[None]]


def lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for a job name."""
    digest = hashlib.blake2b(f"nakama-py/job/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class BackgroundJobs:
    def __init__(self, conninfo: str, jobs: Sequence[TaskEntry], run: Runner, *, retry_sec: float = RETRY_SEC) -> None:
        self.conninfo = conninfo
        self.jobs = list(jobs)
        self.run = run
        self.retry_sec = retry_sec
        self._task: asyncio.Task[None] | None = None
        self._running: dict[str, asyncio.Task[None]] = {}

    @property
    def held(self) -> list[str]:
        """The jobs this process holds right now."""
        return sorted(name for name, task in self._running.items() if not task.done())

    def start(self) -> None:
        if self.jobs and self._task is None:
            self._task = asyncio.create_task(self._lead(), name="runtime-background-jobs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _lead(self) -> None:
        delay = self.retry_sec
        while True:
            conn: AsyncConnection[Any] | None = None
            try:
                conn = await AsyncConnection.connect(self.conninfo, autocommit=True,
                                                     application_name="nakama-py-jobs")
                delay = self.retry_sec
                while True:
                    for job in self.jobs:
                        if job.name not in self._running:
                            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(job.name),))
                            row = await cur.fetchone()
                            if row is not None and row[0]:
                                log.info("background job acquired", extra={"fields": {"job": job.name}})
                                self._running[job.name] = asyncio.create_task(self._repeat(job),
                                                                              name=f"job-{job.name}")
                    await asyncio.sleep(self.retry_sec)
                    await conn.execute("SELECT 1")  # the lock lives as long as this session does
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if delay == self.retry_sec:  # once per outage, not once per retry
                    log.warning("background job connection lost; giving up held jobs until it is back",
                                extra={"fields": {"error": str(exc), "jobs": self.held}})
                delay = min(delay * 2, MAX_RETRY_SEC)
            finally:
                await self._release()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(delay)

    async def _release(self) -> None:
        tasks = list(self._running.values())
        self._running.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _repeat(self, job: TaskEntry) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.run(job)
            await asyncio.sleep(max(0.0, job.interval - (loop.time() - started)))
