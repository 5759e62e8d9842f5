"""The async connection pool and the small query helpers every SQL module uses.

Connections are in autocommit mode: a statement is its own transaction, and
``transaction()`` opens one explicitly where a rule needs several statements
to succeed or fail together. Every helper (and every ``connection()`` or
``transaction()`` block) translates driver errors (db/errors.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, LiteralString, TypeAlias, TypeVar

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from nakama_py.db.address import link_settings
from nakama_py.db.batching import StatementBatcher
from nakama_py.db.errors import watched_errors
from nakama_py.db.pipeline import fetchrows_in_one_pipeline

log = logging.getLogger("nakama_py.db")

Params = Sequence[Any] | dict[str, Any] | None
Query = LiteralString
# A connection lent to the core for one transaction, to pass back to db functions.
Connection: TypeAlias = AsyncConnection[Any]
# A row as the driver returns it, before a db module gives it a type; stays inside db/ (and tests).
RawRow: TypeAlias = tuple[Any, ...]
R = TypeVar("R")
ACQUIRE_TIMEOUT_SEC = 3.0
# Once the database was found gone, a request waits only this long for a connection, until the pool
# makes a new one: else every request of an outage waits the full timeout, and they queue up
# behind each other (the statement batcher runs one group at a time).
DOWN_ACQUIRE_TIMEOUT_SEC = 0.25
# Builds a typed row from the driver's values, e.g. ``SomeNamedTuple._make``.
RowMaker = Callable[[Sequence[Any]], R]


def row_factory(make: RowMaker[R]) -> Callable[[AsyncCursor[Any]], RowMaker[R]]:
    """A psycopg row factory building each row with ``make`` (no per-row dict)."""
    return lambda _cursor: make


class Database:
    def __init__(self, conninfo: str, *, min_size: int = 2, max_size: int = 20,
                 max_lifetime: float = 3600.0, name: str = "nakama-py", pgbouncer: bool = False,
                 session_conninfo: str = "") -> None:
        self.conninfo = conninfo
        # Where a connection must keep its session (LISTEN, advisory locks): not through pgbouncer.
        self.session_conninfo = session_conninfo or conninfo
        kwargs: dict[str, Any] = {"autocommit": True, "application_name": name,
                                  **link_settings(conninfo, pgbouncer=pgbouncer)}
        if pgbouncer:
            # Transaction pooling hands each transaction any server connection, where a statement
            # psycopg prepared on another one does not exist (Debian's pgbouncer 1.18 cannot track them).
            kwargs["prepare_threshold"] = None
        self.pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            conninfo,
            min_size=min(min_size, max_size),
            max_size=max_size,
            max_lifetime=max(max_lifetime, 60.0),
            open=False,
            kwargs=kwargs,
            name=name,
            # A request waits this long for a connection, then answers UNAVAILABLE: with the
            # database gone the pool has none to give, and waiting longer only piles requests up.
            timeout=ACQUIRE_TIMEOUT_SEC,
            configure=self._connected,
        )
        self._errors = watched_errors(self._unreachable)
        # One group in flight: on a busy machine bigger groups (fewer commits and round trips)
        # beat overlapping ones (racing mix p99 60-77 -> 50-59 ms with 2 -> 1).
        self.batcher = StatementBatcher(self)
        self._sweep: asyncio.Task[None] | None = None

    def _unreachable(self) -> None:
        self.pool.timeout = DOWN_ACQUIRE_TIMEOUT_SEC
        # One lost connection rarely dies alone (a restart, a failover, terminated backends): test the
        # idle ones now, so the next requests get live connections instead of each finding a dead one.
        if self._sweep is None or self._sweep.done():
            self._sweep = asyncio.create_task(self._sweep_idle(), name="db-sweep-idle")

    async def _sweep_idle(self) -> None:
        try:
            await self.pool.check()
        except Exception as exc:  # the pool closing, or the database gone again: the next error sweeps
            log.debug("idle connection sweep failed", extra={"fields": {"error": str(exc)}})

    async def _connected(self, _conn: Connection) -> None:
        self.pool.timeout = ACQUIRE_TIMEOUT_SEC

    async def connect(self, timeout: float = 30.0) -> None:
        await self.pool.open(wait=True, timeout=timeout)

    async def close(self) -> None:
        await self.batcher.drain()
        if self._sweep is not None:
            self._sweep.cancel()
        await self.pool.close()

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[Connection]:
        with self._errors:
            async with self.pool.connection(timeout=timeout) as conn:
                yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside one transaction: committed on exit, rolled back on error."""
        with self._errors:
            async with self.pool.connection() as conn, conn.transaction():
                yield conn

    async def fetch(self, query: Query, params: Params = None) -> list[RawRow]:
        with self._errors:
            async with self.pool.connection() as conn:
                cur = await conn.execute(query, params)
                return await cur.fetchall()

    async def fetchrow(self, query: Query, params: Params = None) -> RawRow | None:
        with self._errors:
            async with self.pool.connection() as conn:
                cur = await conn.execute(query, params)
                return await cur.fetchone()

    async def fetch_as(self, make: RowMaker[R], query: Query, params: Params = None) -> list[R]:
        """Every row, each built by ``make`` straight from the driver's values."""
        with self._errors:
            async with self.pool.connection() as conn, conn.cursor(row_factory=row_factory(make)) as cur:
                await cur.execute(query, params)
                return await cur.fetchall()

    async def fetchrow_as(self, make: RowMaker[R], query: Query, params: Params = None) -> R | None:
        with self._errors:
            async with self.pool.connection() as conn, conn.cursor(row_factory=row_factory(make)) as cur:
                await cur.execute(query, params)
                return await cur.fetchone()

    async def fetchrow_grouped(self, query: Query, params: Params = None, order: Any = 0) -> RawRow | None:
        """Like ``fetchrow`` for a write statement that may share a transaction (one round trip,
        one commit) with others arriving at the same moment; see db/batching.py. ``order`` keys
        the statements of a group so concurrent groups lock rows in one order."""
        return await self.batcher.fetchrow(query, params, order)

    async def fetchrows_together(self, statements: Sequence[tuple[Query, Params]]) -> list[RawRow | None]:
        """Write statements as one transaction in one round trip (a pipeline: BEGIN, the statements,
        COMMIT) and each one's first row; when one fails all are rolled back and its error is raised."""
        with self._errors:
            async with self.pool.connection() as conn:
                return await fetchrows_in_one_pipeline(conn, statements)

    async def fetchval(self, query: Query, params: Params = None) -> Any:
        row = await self.fetchrow(query, params)
        return None if row is None else row[0]

    async def fetch_dicts(self, query: Query, params: Params = None) -> list[dict[str, Any]]:
        with self._errors:
            async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(query, params)
                return await cur.fetchall()

    async def execute(self, query: Query, params: Params = None) -> int:
        """Run a statement; the number of rows it touched."""
        with self._errors:
            async with self.pool.connection() as conn:
                cur = await conn.execute(query, params)
                return cur.rowcount

    async def ping(self, timeout: float = 2.0) -> bool:
        try:
            async with self.pool.connection(timeout=timeout) as conn:
                await conn.execute("SELECT 1")
            return True
        except Exception as exc:  # any failure means "not healthy"
            log.warning("database ping failed", extra={"fields": {"error": str(exc)}})
            return False
