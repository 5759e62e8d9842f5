"""db/errors.py against a real PostgreSQL: each driver error, provoked for real, leaves the db
layer translated (unique, foreign-key, value, serialization and deadlock, connection loss), and
a lost database reaches a client as UNAVAILABLE (HTTP 503)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import psycopg
import pytest

from nakama_py.db.errors import (
    DatabaseError,
    ForeignKeyViolation,
    SerializationFailure,
    TextUnstorable,
    UniqueViolation,
    ValueRejected,
)
from nakama_py.db.pool import Database
from nakama_py.errors import Code, DatabaseUnavailable
from nakama_py.state import ServerState
from tests.support.auth import Client, bearer
from tests.support.users import TestUser


@pytest.fixture
async def tables(state: ServerState) -> AsyncIterator[tuple[str, str]]:
    """A parent table and a child table referring to it, both keyed by ``k``."""
    parent, child = f"parent_{secrets.token_hex(4)}", f"child_{secrets.token_hex(4)}"
    await state.db.execute(f"CREATE TABLE {parent} (k int CONSTRAINT {parent}_key PRIMARY KEY,"
                           f" v int NOT NULL CONSTRAINT {parent}_v_positive CHECK (v >= 0))")
    await state.db.execute(f"CREATE TABLE {child} (k int PRIMARY KEY"
                           f" CONSTRAINT {child}_parent REFERENCES {parent} (k))")
    await state.db.execute(f"INSERT INTO {parent} (k, v) VALUES (1, 10), (2, 20)")
    yield parent, child
    await state.db.execute(f"DROP TABLE {child}, {parent}")


def assert_translated(exc: BaseException, kind: type[BaseException]) -> None:
    assert type(exc) is kind
    assert isinstance(exc.__cause__, psycopg.Error)  # the driver's error is kept as the cause, for logs


async def test_unique_violation_names_its_constraint(state: ServerState, tables: tuple[str, str]) -> None:
    parent, _ = tables
    with pytest.raises(UniqueViolation) as caught:
        await state.db.execute(f"INSERT INTO {parent} (k, v) VALUES (1, 0)")
    assert_translated(caught.value, UniqueViolation)
    assert caught.value.constraint == f"{parent}_key"
    assert caught.value.sqlstate == "23505"


async def test_foreign_key_violation(state: ServerState, tables: tuple[str, str]) -> None:
    _, child = tables
    with pytest.raises(ForeignKeyViolation) as caught:
        await state.db.fetchrow(f"INSERT INTO {child} (k) VALUES (99) RETURNING k")
    assert_translated(caught.value, ForeignKeyViolation)
    assert caught.value.constraint == f"{child}_parent"


async def test_values_the_database_refuses(state: ServerState, tables: tuple[str, str]) -> None:
    parent, _ = tables
    with pytest.raises(ValueRejected) as check:
        await state.db.execute(f"UPDATE {parent} SET v = v - 100 WHERE k = 1")
    assert_translated(check.value, ValueRejected)
    assert check.value.constraint == f"{parent}_v_positive"
    with pytest.raises(ValueRejected) as overflow:
        await state.db.fetchval("SELECT 2147483647::int + %s::int", (1,))
    assert_translated(overflow.value, ValueRejected)
    with pytest.raises(TextUnstorable) as nul:
        await state.db.fetchval("SELECT %s::jsonb", ('{"a": "\\u0000"}',))
    assert_translated(nul.value, TextUnstorable)


async def test_other_statement_errors_are_database_errors(state: ServerState) -> None:
    with pytest.raises(DatabaseError) as caught:
        await state.db.fetch("SELECT * FROM no_such_table_here")
    assert_translated(caught.value, DatabaseError)
    assert caught.value.sqlstate == "42P01"


async def test_errors_inside_a_transaction_block_leave_it_translated(state: ServerState,
                                                                     tables: tuple[str, str]) -> None:
    parent, _ = tables
    with pytest.raises(UniqueViolation):
        async with state.db.transaction() as conn:
            await conn.execute(f"INSERT INTO {parent} (k, v) VALUES (3, 0)")
            await conn.execute(f"INSERT INTO {parent} (k, v) VALUES (3, 0)")
    assert await state.db.fetchval(f"SELECT count(*) FROM {parent} WHERE k = 3") == 0  # rolled back


async def test_serialization_failure(state: ServerState, tables: tuple[str, str]) -> None:
    parent, _ = tables
    with pytest.raises(SerializationFailure) as caught:
        async with state.db.transaction() as conn:
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            await conn.execute(f"SELECT v FROM {parent} WHERE k = 1")  # the snapshot is taken here
            await state.db.execute(f"UPDATE {parent} SET v = 11 WHERE k = 1")  # another transaction commits
            await conn.execute(f"UPDATE {parent} SET v = 12 WHERE k = 1")
    assert_translated(caught.value, SerializationFailure)
    assert caught.value.sqlstate == "40001"


async def test_deadlock_is_a_serialization_failure(state: ServerState, tables: tuple[str, str]) -> None:
    parent, _ = tables
    both_locked = asyncio.Barrier(2)

    async def lock(first: int, second: int) -> None:
        async with state.db.transaction() as conn:
            await conn.execute("SET LOCAL deadlock_timeout = '50ms'")
            await conn.execute(f"UPDATE {parent} SET v = v + 1 WHERE k = %s", (first,))
            await both_locked.wait()
            await conn.execute(f"UPDATE {parent} SET v = v + 1 WHERE k = %s", (second,))

    outcomes = await asyncio.wait_for(asyncio.gather(lock(1, 2), lock(2, 1), return_exceptions=True), 30)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failures) == 1, outcomes  # PostgreSQL breaks the cycle by aborting one of the two
    assert_translated(failures[0], SerializationFailure)
    assert failures[0].sqlstate == "40P01"  # type: ignore[attr-defined]


async def test_a_lost_connection_is_unavailable(state: ServerState) -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        async with state.db.connection() as conn:
            cur = await conn.execute("SELECT pg_backend_pid()")
            row = await cur.fetchone()
            assert row is not None
            await state.db.execute("SELECT pg_terminate_backend(%s)", (row[0],))
            await conn.execute("SELECT 1")
    assert_translated(caught.value, DatabaseUnavailable)
    assert caught.value.code == Code.UNAVAILABLE
    assert await state.db.fetchval("SELECT 1") == 1  # the pool replaced the dead connection


async def test_an_unreachable_database_is_unavailable() -> None:
    db = Database("postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=1", min_size=1, max_size=1)
    await db.pool.open(wait=False)
    try:
        with pytest.raises(DatabaseUnavailable):
            async with db.connection(timeout=0.5):
                pass
    finally:
        await db.pool.close()


async def test_a_client_sees_503_or_a_fresh_connection_when_the_database_connections_die(
        state: ServerState, client: Client, alice: TestUser) -> None:
    # Every idle connection of the server's pool is killed; the next requests are served on them.
    await state.db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = %s AND pid <> pg_backend_pid() AND state = 'idle'",
        (f"nakama-py/{state.config.name}",))
    # A request drawing a dead connection answers UNAVAILABLE, never a 500. The first lost connection (a
    # request's, or a background task's such as the rank warm-up) makes the pool test its idle ones and open
    # new ones, so service is back at once on a quiet machine, within moments on a busy one.
    unavailable = {"code": 14, "message": "Database unavailable."}
    deadline = time.monotonic() + 5
    while (response := await client.get("/v2/account", headers=bearer(alice.token))).status != 200:
        assert (response.status, await response.json()) == (503, unavailable)
        assert time.monotonic() < deadline, "no fresh connection within 5 s"
        await asyncio.sleep(0.05)
    assert (await response.json())["user"]["id"] == alice.user_id
