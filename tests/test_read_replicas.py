"""database.read_address: reads that tolerate staleness go to a real streaming replica, which leaves
the rotation when it is down, paused or not a replica at all, and comes back when it recovers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from nakama_py.db.pool import Database
from nakama_py.db.replicas import ReplicaSet
from tests.support.replication import Replication, primary_with_replica

pytestmark = pytest.mark.slow

MAX_LAG_SEC = 0.5


@pytest.fixture(scope="module")
def replication() -> Iterator[Replication]:
    with primary_with_replica() as made:
        yield made


@pytest.fixture
async def primary(replication: Replication) -> AsyncIterator[Database]:
    db = Database(replication.primary_url, min_size=1, max_size=4)
    await db.open()
    await db.execute("CREATE TABLE IF NOT EXISTS replica_probe (id int PRIMARY KEY, value int NOT NULL)")
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def replicas(replication: Replication, primary: Database) -> AsyncIterator[ReplicaSet]:
    made = ReplicaSet(primary, [replication.replica_url], max_lag_sec=MAX_LAG_SEC, check_interval_sec=0.1)
    await made.start()
    try:
        yield made
    finally:
        await made.close()


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> float:
    """Seconds until the condition held; fails the test past the timeout."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "condition not reached in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def probe(db: Database) -> int | None:
    value = await db.fetchval("SELECT value FROM replica_probe WHERE id = 1")
    return None if value is None else int(value)


async def test_reads_go_to_the_replica_and_see_primary_writes_within_the_bound(
        primary: Database, replicas: ReplicaSet) -> None:
    await until(lambda: bool(replicas.in_rotation()))
    await primary.execute("INSERT INTO replica_probe VALUES (1, 7) ON CONFLICT (id) DO UPDATE SET value = 7")
    written = time.monotonic()
    while await replicas.read(probe) != 7:
        assert time.monotonic() - written < MAX_LAG_SEC, "replica read stale past the bound"
        await asyncio.sleep(0.01)
    assert replicas.reads_on_replica > 0 and replicas.reads_on_primary == 0
    status = replicas.status()[0]
    assert status["in_rotation"] is True and float(str(status["lag_sec"])) <= MAX_LAG_SEC


async def test_a_replica_stopped_mid_load_costs_no_read_and_rejoins(
        replication: Replication, primary: Database, replicas: ReplicaSet) -> None:
    await until(lambda: bool(replicas.in_rotation()))
    errors: list[BaseException] = []
    reads = 0
    stop = asyncio.Event()

    async def load() -> None:
        nonlocal reads
        while not stop.is_set():
            try:
                await replicas.read(probe)
                reads += 1
            except Exception as exc:
                errors.append(exc)
            await asyncio.sleep(0.005)

    workers = [asyncio.create_task(load()) for _ in range(4)]
    try:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(replication.stop_replica)
        await until(lambda: not replicas.in_rotation())
        on_primary = replicas.reads_on_primary
        await asyncio.sleep(0.3)
        assert replicas.reads_on_primary > on_primary  # the load carries on, on the primary
        await asyncio.to_thread(replication.start_replica)
        await until(lambda: bool(replicas.in_rotation()), timeout=30)
        on_replica = replicas.reads_on_replica
        await until(lambda: replicas.reads_on_replica > on_replica)
    finally:
        stop.set()
        await asyncio.gather(*workers)
    assert errors == [] and reads > 50


async def test_a_lagging_replica_leaves_the_rotation_until_it_catches_up(
        replication: Replication, primary: Database, replicas: ReplicaSet) -> None:
    await until(lambda: bool(replicas.in_rotation()))
    replica_db = replicas.replicas[0].db
    await replica_db.execute("SELECT pg_wal_replay_pause()")
    try:
        await primary.execute("UPDATE replica_probe SET value = value + 1 WHERE id = 1")
        await primary.execute("INSERT INTO replica_probe VALUES (2, 0) ON CONFLICT (id) DO UPDATE SET value = 0")
        await until(lambda: not replicas.in_rotation(), timeout=10)
        assert "lagging" in str(replicas.status()[0]["reason"])
        # Out of rotation, reads are fresh: they are served by the primary.
        assert await replicas.read(probe) == await probe(primary)
    finally:
        await replica_db.execute("SELECT pg_wal_replay_resume()")
    await until(lambda: bool(replicas.in_rotation()), timeout=10)


async def test_an_address_that_is_not_a_replica_never_joins(primary: Database, replication: Replication) -> None:
    not_a_replica = ReplicaSet(primary, [replication.primary_url], max_lag_sec=MAX_LAG_SEC, check_interval_sec=0.1)
    await not_a_replica.start()
    try:
        await asyncio.sleep(0.3)
        assert not_a_replica.in_rotation() == []
        assert "not a streaming replica" in str(not_a_replica.status()[0]["reason"])
    finally:
        await not_a_replica.close()
