"""Concurrent reads of one row by key, answered by one query for all of them.

Under load many requests read one row each by its key at the same moment (a player's account, say).
Sent one by one, each pays a pooled connection, a statement and its result parsing in Python, which
costs more than the row itself. Here a read goes out at once when fewer than ``max_in_flight`` queries
are running; the reads that arrive meanwhile wait and go together in the next query
(``WHERE key = ANY(...)``), so an idle server adds no delay and a busy one sends one query per group.

A read never joins a query already sent: its answer comes from a query that started after it was
asked, so it sees every write committed before it was asked (what a query of its own would see).
When the query fails, every read of its group gets that error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class KeyedReads(Generic[K, V]):
    def __init__(self, load: Callable[[list[K]], Awaitable[dict[K, V]]], *, max_batch: int = 128,
                 max_in_flight: int = 2) -> None:
        self._load = load  # the rows found for the keys asked (a key with no row is left out)
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        self._dispatch()
        return await future

    def _dispatch(self) -> None:
        while self._waiting and self._in_flight < self.max_in_flight:
            keys = list(self._waiting)[:self.max_batch]
            group = {key: self._waiting.pop(key) for key in keys}
            self._in_flight += 1
            task = asyncio.create_task(self._run(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, group: dict[K, list[asyncio.Future[V | None]]]) -> None:
        try:
            try:
                rows = await self._load(list(group))
            except asyncio.CancelledError:  # shutting down: the readers are cancelled with the query
                for futures in group.values():
                    for future in futures:
                        future.cancel()
                raise
            except Exception as exc:
                for futures in group.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                return
            for key, futures in group.items():
                row = rows.get(key)
                for future in futures:
                    if not future.done():  # a caller cancelled meanwhile is gone
                        future.set_result(row)
        finally:
            self._in_flight -= 1
            self._dispatch()
