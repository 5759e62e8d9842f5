"""Migrations: up, down and up again, status, and exactly-once under concurrent runners."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nakama_py.db.migrations import load_migrations, migrate_down, migrate_up, migration_status
from nakama_py.db.pool import Database
from tests.support.database import create_database, drop_database
from tests.support.server import start_server

NAKAMA_TABLES = {"users", "user_device", "user_edge", "user_tombstone", "storage", "leaderboard",
                 "leaderboard_record", "wallet_ledger", "notification"}


@pytest.fixture
async def fresh_db() -> AsyncIterator[Database]:
    url = create_database("nakama_py_mig")
    db = Database(url, min_size=1, max_size=4)
    await db.connect()
    try:
        yield db
    finally:
        await db.close()
        drop_database(url)


async def tables(db: Database) -> set[str]:
    rows = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row[0] for row in rows}


def test_migration_files_are_numbered_and_have_both_parts() -> None:
    migrations = load_migrations()
    ids = [m.id for m in migrations]
    assert ids == sorted(ids) and ids[0] == "0001_nakama_schema"
    assert all(m.up and m.down for m in migrations)


async def test_up_down_up(fresh_db: Database) -> None:
    everything = [m.id for m in load_migrations()]
    status = await migration_status(fresh_db)
    assert [s.applied_at for s in status] == [None] * len(everything)

    assert await migrate_up(fresh_db) == everything
    assert await tables(fresh_db) >= NAKAMA_TABLES
    assert await migrate_up(fresh_db) == []  # nothing pending
    assert all(s.applied_at is not None for s in await migration_status(fresh_db))
    system = await fresh_db.fetchrow("SELECT username FROM users WHERE id = '00000000-0000-0000-0000-000000000000'")
    assert system == ("",)

    assert await migrate_down(fresh_db, limit=1) == [everything[-1]]
    assert await migrate_down(fresh_db, limit=len(everything)) == list(reversed(everything[:-1]))
    assert (await tables(fresh_db)) & NAKAMA_TABLES == set()

    assert await migrate_up(fresh_db) == everything
    assert await tables(fresh_db) >= NAKAMA_TABLES


async def test_concurrent_runners_apply_each_migration_once(fresh_db: Database) -> None:
    runners = [Database(fresh_db.conninfo, min_size=1, max_size=2) for _ in range(6)]
    for runner in runners:
        await runner.connect()
    try:
        results = await asyncio.gather(*(migrate_up(runner) for runner in runners))
    finally:
        for runner in runners:
            await runner.close()
    applied = [migration for result in results for migration in result]
    assert sorted(applied) == [m.id for m in load_migrations()]  # each exactly once, all together
    count = await fresh_db.fetchval("SELECT count(*) FROM nakama_py_migration")
    assert count == len(load_migrations())


def test_servers_starting_together_on_an_empty_database(tmp_path: Path) -> None:
    url = create_database("nakama_py_mig")
    servers = []
    try:
        servers = [start_server(tmp_path / f"s{i}", url, wait=False) for i in range(3)]
        from tests.support.server import wait_healthy

        for server in servers:
            wait_healthy(server.url, server.process, 60, server.log_path)
        logs = "".join(server.log() for server in servers)
        assert logs.count('"migration":"0001_nakama_schema"') == 1
    finally:
        for server in servers:
            assert server.stop() == 0, server.log()[-3000:]
        drop_database(url)
