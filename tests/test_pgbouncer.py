"""Behind pgbouncer in transaction pooling mode (Debian's 1.18): with database.pgbouncer the pool
prepares no statements, and what needs a session (LISTEN, advisory locks, migrations) goes to
database.session_address, so two servers behind one bouncer work as one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from nakama_py.db.address import link_settings
from nakama_py.db.pool import Database
from tests.support.auth import bearer
from tests.support.pgbouncer import pgbouncer
from tests.support.server import start_server
from tests.test_revocation_processes import account_status, call, refused_soon, sign_in

pytestmark = pytest.mark.slow

CLIENTS = 12
ROUNDS = 12  # past psycopg's prepare threshold (5) on every connection


@pytest.fixture(scope="module")
def bounced(database_url: str) -> Iterator[str]:
    with pgbouncer(database_url, pool=3) as url:
        yield url


class Pool(Protocol):
    def connection(self) -> AbstractAsyncContextManager[AsyncConnection[Any]]: ...


async def hammer(pool: Pool) -> list[BaseException]:
    """The same statements, many times on each of many client connections sharing 3 server ones."""
    errors: list[BaseException] = []

    async def client(index: int) -> None:
        for round_ in range(ROUNDS):
            try:
                async with pool.connection() as conn:
                    cur = await conn.execute("SELECT count(*) FROM users WHERE id <> %s", (uuid.uuid4(),))
                    await cur.fetchone()
                    async with conn.transaction():
                        await conn.execute("SELECT %s::int + %s::int", (index, round_))
            except Exception as exc:
                errors.append(exc)

    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return errors


async def test_the_pool_works_behind_transaction_pooling_only_in_pgbouncer_mode(bounced: str) -> None:
    db = Database(bounced, min_size=CLIENTS, max_size=CLIENTS, pgbouncer=True)
    await db.connect()
    try:
        assert await hammer(db) == []
    finally:
        await db.close()
    # The control: psycopg's automatic prepared statements meet other server connections.
    async with AsyncConnectionPool(bounced, min_size=CLIENTS, max_size=CLIENTS, kwargs={"autocommit": True}) as plain:
        failures = await hammer(plain)
    assert any("prepared statement" in str(e) for e in failures), failures[:3]


async def test_outside_pgbouncer_mode_our_connections_are_refused_by_name(bounced: str) -> None:
    """Our connections ask the server for TCP bounds in the ``options`` startup parameter, which
    pgbouncer refuses: a server pointed at one without ``database.pgbouncer`` logs why it cannot connect."""
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter: options"):
        await psycopg.AsyncConnection.connect(bounced, **link_settings(bounced))
    async with await psycopg.AsyncConnection.connect(bounced, **link_settings(bounced, pgbouncer=True)):
        pass


def test_two_servers_behind_one_bouncer_act_as_one(tmp_path: Path, database_url: str, bounced: str) -> None:
    flags = ("--database.pgbouncer", "true", "--database.session_address", database_url)
    first = start_server(tmp_path / "a", bounced, *flags)
    second = start_server(tmp_path / "b", bounced, *flags)
    try:
        session = sign_in(first, f"bouncer-{uuid.uuid4().hex}")
        token = session["token"]
        user_id = call(first, "GET", "/v2/account", bearer(token))[1]["user"]["id"]
        write = {"objects": [{"collection": "bounce", "key": f"k{i}", "value": '{"n": 1}'} for i in range(3)]}
        for _ in range(ROUNDS):
            for server in (first, second):
                assert call(server, "PUT", "/v2/storage", bearer(token), write)[0] == 200
                status, body = call(server, "GET", f"/v2/storage/bounce?limit=10&user_id={user_id}", bearer(token))
                assert status == 200 and len(body["objects"]) == 3
        # The logout reaches the other server through LISTEN on its direct session connection.
        assert call(first, "POST", "/v2/session/logout", bearer(token), {"token": token})[0] == 200
        assert refused_soon(lambda: account_status(second, token))
    finally:
        first.stop()
        second.stop()
    assert "prepared statement" not in first.log() + second.log()
