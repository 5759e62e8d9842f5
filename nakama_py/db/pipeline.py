"""Several write statements as one transaction in one round trip (a pipeline: BEGIN, the
statements, COMMIT), shared by Database.fetchrows_together and the statement batcher."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import psycopg

if TYPE_CHECKING:
    from nakama_py.db.pool import Connection, Params, Query, RawRow


async def fetchrows_in_one_pipeline(conn: Connection,
                                    statements: Iterable[tuple[Query, Params]]) -> list[RawRow | None]:
    """Each statement's first row once all committed; when one fails all are rolled back, the
    connection is left usable and its error is raised."""
    async with conn.pipeline() as pipeline:
        try:
            await conn.execute("BEGIN")
            cursors = [await conn.execute(query, params) for query, params in statements]
            await conn.execute("COMMIT")
            await pipeline.sync()
        except BaseException:
            # The pipeline skipped everything after the error, COMMIT included.
            with contextlib.suppress(psycopg.Error):
                await pipeline.sync()
            with contextlib.suppress(psycopg.Error):
                await conn.execute("ROLLBACK")
                await pipeline.sync()
            raise
        return [await cursor.fetchone() for cursor in cursors]
