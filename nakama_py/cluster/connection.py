"""A PostgreSQL connection of one's own, outside the pool, kept open with reconnect and backoff.

Some work needs a session that lives on: LISTEN (notifications go to the session that listens),
a session-level advisory lock (released when the session ends), a publisher that must not wait
for a pool slot. ``DedicatedConnection`` runs a ``session`` coroutine on such a connection; when
the session fails (the connection dropped, a query failed) it closes the connection and runs the
session again on a new one, after a growing delay. Whatever the session mirrors or holds must be
redone by the session itself on each run (re-LISTEN and resync, re-take locks): work done on the
lost connection is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection

from nakama_py.cluster.tasks import cancel_and_wait
from nakama_py.db.address import link_settings

log = logging.getLogger("nakama_py.cluster")

Session = Callable[[AsyncConnection[Any]], Awaitable[None]]

RETRY_SEC = 0.1
MAX_RETRY_SEC = 5.0


class DedicatedConnection:
    def __init__(self, conninfo: str, application_name: str, session: Session, *,
                 retry_sec: float = RETRY_SEC, max_retry_sec: float = MAX_RETRY_SEC) -> None:
        self.conninfo = conninfo
        self.application_name = application_name  # shows in pg_stat_activity
        self.session = session
        self.retry_sec = retry_sec
        self.max_retry_sec = max(max_retry_sec, retry_sec)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.application_name)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        delay = self.retry_sec
        healthy = True  # no failure logged since the last session that ran well
        while True:
            started = time.monotonic()
            conn: AsyncConnection[Any] | None = None
            try:
                conn = await AsyncConnection.connect(self.conninfo, autocommit=True,
                                                     application_name=self.application_name,
                                                     **link_settings(self.conninfo))
                await self.session(conn)
                return  # the session finished of its own accord
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if time.monotonic() - started > self.max_retry_sec:
                    delay, healthy = self.retry_sec, True  # it ran well for a while: a new outage
                level = logging.WARNING if healthy else logging.DEBUG  # once per outage, not per retry
                log.log(level, "dedicated connection lost; reconnecting", extra={"fields": {
                    "connection": self.application_name, "error": str(exc) or type(exc).__name__,
                    "retry_in_s": delay}})
                healthy = False
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_retry_sec)
