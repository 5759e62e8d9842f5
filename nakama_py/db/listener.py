"""One LISTEN connection per server process, shared by every feature that needs
to hear about changes made by other processes (token revocations, rank updates).

Subscribers register a channel with a callback, and optionally a ``resync``
coroutine run whenever the connection is (re)established: notifications sent
while it was down are lost, so a subscriber reloads what it mirrors instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection, sql

log = logging.getLogger("nakama_py.listener")

Callback = Callable[[str], None]
Resync = Callable[[], Awaitable[None]]


class Listener:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._callbacks: dict[str, list[Callback]] = {}
        self._resyncs: list[Resync] = []
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection[Any] | None = None
        self._ready = asyncio.Event()
        self._stopping = False

    def subscribe(self, channel: str, callback: Callback, resync: Resync | None = None) -> None:
        self._callbacks.setdefault(channel, []).append(callback)
        if resync is not None:
            self._resyncs.append(resync)

    async def start(self, timeout: float = 30.0) -> None:
        self._task = asyncio.create_task(self._run(), name="pg-listener")
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()

    async def _run(self) -> None:
        delay = 0.1
        while not self._stopping:
            try:
                self._conn = await AsyncConnection.connect(self.conninfo, autocommit=True,
                                                           application_name="nakama-py-listener")
                for channel in self._callbacks:
                    await self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                for resync in self._resyncs:
                    await resync()
                self._ready.set()
                delay = 0.1
                async for note in self._conn.notifies():
                    for callback in self._callbacks.get(note.channel, ()):
                        try:
                            callback(note.payload)
                        except Exception:
                            log.exception("notification handler failed", extra={"fields": {"channel": note.channel}})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection loss, or a resync that failed
                if self._stopping:
                    return
                log.warning("listen connection lost; reconnecting",
                            extra={"fields": {"error": str(exc), "retry_in_s": delay}})
            finally:
                if self._conn is not None:
                    with contextlib.suppress(Exception):
                        await self._conn.close()
                    self._conn = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
