"""db/batching.py on a real PostgreSQL: write statements arriving together share one
transaction, and one failing statement costs only its own caller."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest

from nakama_py.db.batching import StatementBatcher
from nakama_py.db.errors import UniqueViolation
from nakama_py.state import ServerState


@pytest.fixture
async def table(state: ServerState) -> AsyncIterator[str]:
    name = f"batch_{secrets.token_hex(4)}"
    await state.db.execute(f"CREATE TABLE {name} (k int PRIMARY KEY, v text NOT NULL)")
    yield name
    await state.db.execute(f"DROP TABLE {name}")


async def test_concurrent_statements_commit_together_and_answer_each_caller(state: ServerState, table: str) -> None:
    batcher = StatementBatcher(state.db, max_in_flight=1)
    # txid_current() is the transaction's id: statements grouped together report the same one.
    query = f"INSERT INTO {table} (k, v) VALUES (%s, %s) RETURNING k, txid_current()"
    rows = await asyncio.gather(*(batcher.fetchrow(query, (k, f"v{k}"), order=k) for k in range(20)))
    assert [r[0] for r in rows if r] == list(range(20))
    transactions = {r[1] for r in rows if r}
    assert len(transactions) < 20  # the first went alone; the rest arrived while it ran
    stored = await state.db.fetch(f"SELECT k, v FROM {table} ORDER BY k")
    assert stored == [(k, f"v{k}") for k in range(20)]


async def test_a_failing_statement_fails_alone_and_the_others_are_written(state: ServerState, table: str) -> None:
    await state.db.execute(f"INSERT INTO {table} (k, v) VALUES (7, 'taken')")
    batcher = StatementBatcher(state.db, max_in_flight=1)
    query = f"INSERT INTO {table} (k, v) VALUES (%s, %s) RETURNING k"
    results = await asyncio.gather(*(batcher.fetchrow(query, (k, "new"), order=k) for k in range(12)),
                                   return_exceptions=True)
    assert isinstance(results[7], UniqueViolation)
    assert [r for i, r in enumerate(results) if i != 7] == [(k,) for k in range(12) if k != 7]
    stored = {k: v for k, v in await state.db.fetch(f"SELECT k, v FROM {table}")}
    assert stored == {**{k: "new" for k in range(12)}, 7: "taken"}


async def test_a_group_that_fails_leaves_nothing_half_written(state: ServerState, table: str) -> None:
    batcher = StatementBatcher(state.db, max_in_flight=1)
    query = f"INSERT INTO {table} (k, v) VALUES (%s, %s) RETURNING k"
    # Two statements of one group insert the same key: the group rolls back and each runs alone,
    # so exactly one of them wins and every other row is written once.
    keys = [1, 2, 3, 3, 4]
    results = await asyncio.gather(*(batcher.fetchrow(query, (k, str(i)), order=i) for i, k in enumerate(keys)),
                                   return_exceptions=True)
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], UniqueViolation)
    assert sorted(r[0] for r in await state.db.fetch(f"SELECT k FROM {table}")) == [1, 2, 3, 4]


async def test_a_statement_whose_caller_gave_up_holds_up_no_one(state: ServerState, table: str) -> None:
    """A statement waiting on a row lock is cancelled in the server once its caller is gone (a request
    past its deadline), so the writes queued behind it run, and it changes nothing."""
    await state.db.execute(f"INSERT INTO {table} (k, v) VALUES (1, 'held')")
    batcher = StatementBatcher(state.db, max_in_flight=1)
    update = f"UPDATE {table} SET v = %s WHERE k = %s RETURNING k"
    insert = f"INSERT INTO {table} (k, v) VALUES (%s, %s) RETURNING k"
    async with state.db.transaction() as holder:  # another session holds the row's lock throughout
        await holder.execute(f"SELECT v FROM {table} WHERE k = 1 FOR UPDATE")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(batcher.fetchrow(update, ("changed", 1), order=1), 0.5)
        both = asyncio.gather(*(batcher.fetchrow(insert, (k, "next"), order=k) for k in (2, 3)))
        assert await asyncio.wait_for(both, 3) == [(2,), (3,)]
    assert await state.db.fetch(f"SELECT k, v FROM {table} ORDER BY k") == [(1, "held"), (2, "next"), (3, "next")]
