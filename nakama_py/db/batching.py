"""Group concurrent single-statement writes into one transaction.

Under load, many requests each run one write statement at the same moment. Sent one by
one, each costs a round trip and a commit (a WAL flush); grouped, a whole group is one
pipeline (BEGIN, the statements, COMMIT: a single round trip) and one commit. Nothing is
delayed to form a group: a statement goes out at once when fewer than ``max_in_flight``
groups are running, and only the statements that arrive while they run are grouped.

Each statement's result reaches its caller only after the group committed. Statements
run in a fixed order (``order`` key) so that two groups never lock the same rows in
opposite orders. If any statement of a group fails, the group rolls back as a whole and
every statement is run again on its own, so each caller gets the answer (or the error) its
statement alone would have produced.

A caller that gives up (its request past its deadline) takes its statement out of the queue, and a group
left with no caller is cancelled, which cancels its statement in the server: one statement waiting on a
row lock (a transaction orphaned by a cut link, a module's long transaction) must not hold up every write
queued behind it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nakama_py.db.errors import DatabaseError
from nakama_py.db.pipeline import fetchrows_in_one_pipeline
from nakama_py.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from nakama_py.db.pool import Database, Params, Query, RawRow

log = logging.getLogger("nakama_py.db")



@dataclass(order=True)
class _Pending:
    order: Any
    query: Query = field(compare=False)
    params: Params = field(compare=False)
    result: asyncio.Future[RawRow | None] = field(compare=False)
    runner: asyncio.Task[None] | None = field(default=None, compare=False)  # its group's, once sent


class StatementBatcher:
    def __init__(self, db: Database, *, max_batch: int = 32, max_in_flight: int = 1) -> None:
        self.db = db
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._queue: list[_Pending] = []
        self._in_flight = 0
        self._groups: dict[asyncio.Task[None], list[_Pending]] = {}  # the groups in flight

    async def fetchrow(self, query: Query, params: Params, order: Hashable = 0) -> RawRow | None:
        """The statement's first row (None when it returns none), once its group has committed."""
        future: asyncio.Future[RawRow | None] = asyncio.get_running_loop().create_future()
        pending = _Pending(order, query, params, future)
        self._queue.append(pending)
        self._dispatch()
        try:
            return await future
        except asyncio.CancelledError:
            self._gave_up(pending)
            raise

    def _gave_up(self, pending: _Pending) -> None:
        runner = pending.runner
        if runner is None:  # not sent yet: it never will be
            self._queue = [queued for queued in self._queue if queued is not pending]
        elif all(member.result.done() for member in self._groups.get(runner, ())):
            runner.cancel()  # psycopg cancels the running statement in the server, and the group rolls back

    def _dispatch(self) -> None:
        while self._queue and self._in_flight < self.max_in_flight:
            group, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            self._in_flight += 1
            task = asyncio.create_task(self._run(group))
            for pending in group:
                pending.runner = task
            self._groups[task] = group
            task.add_done_callback(self._groups.pop)

    async def _run(self, group: list[_Pending]) -> None:
        try:
            if len(group) == 1:
                await self._alone(group[0])
                return
            group.sort()
            try:
                rows = await self._together(group)
            except DatabaseUnavailable as exc:
                # No database: running each statement alone would wait for a connection once per
                # statement, one after the other (a queue growing while the outage lasts).
                for pending in group:
                    if not pending.result.done():
                        pending.result.set_exception(exc)
                return
            except Exception as exc:
                if not isinstance(exc, DatabaseError):
                    log.warning("write group failed; running its statements one by one", exc_info=True)
                for pending in group:
                    await self._alone(pending)
                return
            for pending, row in zip(group, rows, strict=True):
                if not pending.result.done():
                    pending.result.set_result(row)
        finally:
            self._in_flight -= 1
            self._dispatch()

    async def _alone(self, pending: _Pending) -> None:
        try:
            row = await self.db.fetchrow(pending.query, pending.params)
        except Exception as exc:
            if not pending.result.done():
                pending.result.set_exception(exc)
            return
        if not pending.result.done():
            pending.result.set_result(row)

    async def _together(self, group: list[_Pending]) -> list[RawRow | None]:
        async with self.db.connection() as conn:
            return await fetchrows_in_one_pipeline(conn, ((p.query, p.params) for p in group))

    async def drain(self) -> None:
        """Wait for the groups in flight (their callers are waiting for them)."""
        if self._groups:
            await asyncio.gather(*self._groups, return_exceptions=True)
