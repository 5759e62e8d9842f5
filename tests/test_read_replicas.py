"""database.read_address: reads that tolerate staleness go to a real streaming replica, which leaves
the rotation when it is down, paused or not a replica at all, and comes back when it recovers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.db.pool import Database
from nakama_py.db.replicas import ReplicaSet
from nakama_py.state import ServerState, build_state
from tests.support.replication import Replication, primary_with_replica
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

Client = TestClient[Request, Application]

pytestmark = pytest.mark.slow

MAX_LAG_SEC = 0.5


@pytest.fixture(scope="module")
def replication() -> Iterator[Replication]:
    with primary_with_replica() as made:
        yield made


@pytest.fixture
async def primary(replication: Replication) -> AsyncIterator[Database]:
    db = Database(replication.primary_url, min_size=1, max_size=4)
    await db.connect()
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


# --- routing: what a server reads from the replica ---------------------------------------------------


@pytest.fixture
async def served(replication: Replication, make_config: Callable[..., Config],
                 aiohttp_client: Callable[..., Awaitable[Client]]) -> AsyncIterator[tuple[ServerState, Client]]:
    """A server on the private primary with the replica as read_address (a generous lag bound, so a
    paused replica stays in rotation and its staleness shows)."""
    config = make_config("--database.address", replication.primary_url, "--database.read_address",
                         replication.replica_url, "--database.read_max_lag_ms", "60000")
    state = await build_state(config, replication.primary_url)
    try:
        await until(lambda: bool(state.replicas.in_rotation()))
        yield state, await aiohttp_client(WireTestServer(build_app(state)))
    finally:
        await state.close()


async def replayed(state: ServerState) -> None:
    """Until the replica has replayed everything the primary wrote so far."""
    target = await state.db.fetchval("SELECT pg_current_wal_lsn()::text")
    replica = state.replicas.replicas[0].db
    deadline = time.monotonic() + 20
    while True:
        if await replica.fetchval("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)):
            return
        assert time.monotonic() < deadline, "replica did not replay within 20 s"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def replay_paused(state: ServerState) -> AsyncIterator[None]:
    replica = state.replicas.replicas[0].db
    await replica.execute("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        await replica.execute("SELECT pg_wal_replay_resume()")


async def owners_on_page(client: Client, board: str, user: TestUser) -> dict[str, str]:
    response = await client.get(f"/v2/leaderboard/{board}?limit=100", headers=user.auth)
    assert response.status == 200
    return {r["owner_id"]: r["score"] for r in (await response.json()).get("records", [])}


async def test_pages_come_from_the_replica_but_a_player_sees_their_own_write_at_once(
        served: tuple[ServerState, Client]) -> None:
    state, client = served
    # A board without ranks in memory: its pages come from the database (a ranked board's come from
    # the ranks, fresher than any replica: see the next test).
    board = f"replica-{uuid.uuid4().hex[:8]}"
    await state.leaderboards.create(board, enable_ranks=False)
    alice, bob = await create_user(state), await create_user(state)
    await replayed(state)
    async with replay_paused(state):
        for user, score in ((alice, "10"), (bob, "20")):
            response = await client.post(f"/v2/leaderboard/{board}", json={"score": score}, headers=user.auth)
            assert response.status == 200
        # Bob's write is not replayed: Alice's page comes from the replica, yet shows her own write,
        # which the replica lacks too (the page is read again from the primary for her)...
        assert await owners_on_page(client, board, alice) == {alice.user_id: "10", bob.user_id: "20"}
        # ...while a third player, with no write of their own waiting, gets the replica's (stale) page.
        carol = await create_user(state)
        assert await owners_on_page(client, board, carol) == {}
    await replayed(state)
    assert await owners_on_page(client, board, carol) == {alice.user_id: "10", bob.user_id: "20"}


async def test_pages_of_a_ranked_board_come_from_memory_ahead_of_the_replica(
        served: tuple[ServerState, Client]) -> None:
    state, client = served
    board = f"replica-ranked-{uuid.uuid4().hex[:8]}"
    await state.leaderboards.create(board)
    alice, bob, carol = await create_user(state), await create_user(state), await create_user(state)
    await replayed(state)
    async with replay_paused(state):
        for user, score in ((alice, "10"), (bob, "20")):
            response = await client.post(f"/v2/leaderboard/{board}", json={"score": score}, headers=user.auth)
            assert response.status == 200
        # The replica has replayed neither write; the ranks hold both, and so does every page.
        for user in (alice, bob, carol):
            assert await owners_on_page(client, board, user) == {alice.user_id: "10", bob.user_id: "20"}


async def test_other_players_objects_come_from_the_replica_own_objects_from_the_primary(
        served: tuple[ServerState, Client]) -> None:
    state, client = served
    alice, bob = await create_user(state), await create_user(state)
    await replayed(state)
    async with replay_paused(state):
        write = {"objects": [{"collection": "cars", "key": "red", "value": '{"hp": 300}', "permission_read": 2}]}
        assert (await client.put("/v2/storage", json=write, headers=alice.auth)).status == 200
        own = await client.get(f"/v2/storage/cars?user_id={alice.user_id}&limit=10", headers=alice.auth)
        assert [o["key"] for o in (await own.json())["objects"]] == ["red"]
        others = await client.get(f"/v2/storage/cars?user_id={alice.user_id}&limit=10", headers=bob.auth)
        assert (await others.json()).get("objects", []) == []  # not replayed yet: the replica's view
    await replayed(state)
    others = await client.get(f"/v2/storage/cars?user_id={alice.user_id}&limit=10", headers=bob.auth)
    assert [o["key"] for o in (await others.json())["objects"]] == ["red"]
    read = {"object_ids": [{"collection": "cars", "key": "red", "user_id": alice.user_id}]}
    response = await client.post("/v2/storage", json=read, headers=bob.auth)
    assert [o["key"] for o in (await response.json())["objects"]] == ["red"]


async def test_metrics_show_each_replica_in_rotation_and_its_lag(served: tuple[ServerState, Client]) -> None:
    state, _ = served
    name = state.replicas.replicas[0].name
    line = f'nakama_db_replica_in_rotation{{replica="{name}"}} 1.0'
    deadline = time.monotonic() + 5
    while line not in state.metrics.exposition().decode():
        assert time.monotonic() < deadline, state.metrics.exposition().decode()[-2000:]
        await asyncio.sleep(0.1)
    assert f'nakama_db_replica_lag_seconds{{replica="{name}"}}' in state.metrics.exposition().decode()
