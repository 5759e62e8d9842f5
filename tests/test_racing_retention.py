"""Retention: old cycle buckets and expired idempotency keys go, in batches, while play goes on."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from nakama_py.app import build_app
from nakama_py.db import record_partitions
from nakama_py.runtime.context import Context
from nakama_py.state import ServerState
from tests.support.racing import HTTP_KEY, rpc, start_racing_state, until_cycle_end, until_cycle_start
from tests.support.users import create_user
from tests.support.wire_server import WireTestServer

CYCLE = 2
RETENTION_DAYS = 0.00005  # 4.32 seconds



@pytest.fixture
async def racing_state(own_database: str, tmp_path: Path) -> AsyncIterator[ServerState]:
    state = await start_racing_state(own_database, tmp_path, cycle_seconds=CYCLE, retention_days=RETENTION_DAYS)
    yield state
    await state.close()


async def count(state: ServerState, query: Any, params: Any = None) -> int:
    return int(await state.db.fetchval(query, params) or 0)


async def test_retention_deletes_old_buckets_and_expired_keys_in_batches(
        racing_state: ServerState, aiohttp_client: Callable[..., Any]) -> None:
    state = racing_state
    client = await aiohttp_client(WireTestServer(build_app(state)))
    old_cycle = await until_cycle_start(CYCLE, margin=0.05)
    players = [await create_user(state) for _ in range(5)]
    for player in players:
        status, _ = await rpc(client, "", "submit_race_time", {"race_time": 30, "idempotency_key": "old"},
                              token=player.token)
        assert status == 200
    # An old bucket large enough to need several batches, and keys whose time has long passed.
    old_expiry = (old_cycle + 1) * CYCLE
    await record_partitions.ensure(state.db, datetime.fromtimestamp(old_expiry - CYCLE, UTC))  # around the server
    await state.db.execute(
        "INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, expiry_time)"
        " SELECT 'race_times', gen_random_uuid(), 1000 + n, to_timestamp(%s) FROM generate_series(1, 4500) n",
        (old_expiry - CYCLE,))
    await state.db.execute(
        "INSERT INTO nakama_py_leaderboard_receipt (leaderboard_id, owner_id, idempotency_key, expire_time,"
        " expiry_time, submitted_score, submitted_subscore, updated, rank, score, subscore, num_score,"
        " max_num_score, record_create_time, record_update_time)"
        " SELECT 'race_times', gen_random_uuid(), 'k' || n, now() - interval '1 hour', now(), 1, 0, true, 1,"
        " 1, 0, 1, 1000000, now(), now() FROM generate_series(1, 4500) n")
    await until_cycle_end(old_cycle, CYCLE, settle=RETENTION_DAYS * 86400 + 1.2)

    stop = asyncio.Event()
    accepted = 0

    async def keep_playing() -> None:
        nonlocal accepted
        player = await create_user(state)
        while not stop.is_set():
            status, _ = await rpc(client, "", "submit_race_time",
                                  {"race_time": 20, "idempotency_key": str(uuid.uuid4())}, token=player.token)
            accepted += status == 200
            await asyncio.sleep(0.02)

    player_task = asyncio.create_task(keep_playing())
    await asyncio.sleep(0.3)
    job = state.runtime.registry.jobs["racing_retention"]
    await job.fn(Context(state.runtime.info, "background"), job.logger, state.runtime.nk)
    await asyncio.sleep(0.3)
    stop.set()
    await player_task

    assert accepted > 5  # play went on during the clean-up
    assert await count(state, "SELECT count(*) FROM leaderboard_record WHERE expiry_time <= to_timestamp(%s)",
                       (old_expiry,)) == 0
    current = (int(time.time()) // CYCLE + 1) * CYCLE
    assert await count(state, "SELECT count(*) FROM leaderboard_record WHERE expiry_time >= to_timestamp(%s)",
                       (current - CYCLE,)) >= 1
    assert await count(state, "SELECT count(*) FROM nakama_py_leaderboard_receipt WHERE expire_time <= now()") == 0
    assert await count(state, "SELECT count(*) FROM nakama_py_leaderboard_receipt") >= accepted
    status, body = await rpc(client, "", "get_leaderboard", {"cycle": old_cycle}, http_key=HTTP_KEY)
    assert status == 404 and "no longer kept" in body["message"]


async def test_run_retention_drops_an_expired_day_of_the_board_whole(
        racing_state: ServerState, aiohttp_client: Callable[..., Any]) -> None:
    """``run_retention`` (http_key): a day of expired cycles only the racing board wrote goes as one
    partition (sql/0009), counted; the current cycle stays; a player may not call it."""
    state = racing_state
    client = await aiohttp_client(WireTestServer(build_app(state)))
    player = await create_user(state)
    status, _ = await rpc(client, "", "submit_race_time", {"race_time": 30, "idempotency_key": "now"},
                          token=player.token)
    assert status == 200
    await state.db.execute("SELECT nakama_py_record_partition(current_date - 40)")
    await state.db.execute(
        "INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, expiry_time)"
        " SELECT 'race_times', gen_random_uuid(), n, (current_date - 40)::timestamptz + interval '1 hour'"
        " FROM generate_series(1, 3000) n")
    name = await state.db.fetchval("SELECT 'leaderboard_record_p' || to_char(current_date - 40, 'YYYYMMDD')")
    status, body = await rpc(client, "", "run_retention", {}, token=player.token)
    assert status == 403
    status, body = await rpc(client, "", "run_retention", {}, http_key=HTTP_KEY)
    assert status == 200 and body["records_deleted"] >= 3000 and body["duration_ms"] > 0
    assert await count(state, "SELECT count(*) FROM pg_class WHERE relname = %s", (name,)) == 0
    assert await count(state, "SELECT count(*) FROM leaderboard_record WHERE owner_id = %s", (player.user_id,)) == 1


async def test_the_background_job_follows_its_interval_and_can_be_left_to_an_external_scheduler(
        own_database: str, tmp_path: Path) -> None:
    """``racing_retention_interval_seconds``: the job's interval; 0 registers no job (a CronJob calls
    ``run_retention`` instead), which stays registered either way."""
    for interval, registered in (("15", 15.0), ("0", None)):
        state = await start_racing_state(own_database, tmp_path, retention_interval_seconds=interval)
        try:
            job = state.runtime.registry.jobs.get("racing_retention")
            assert (job.interval if job else None) == registered
            assert "run_retention" in state.runtime.registry.rpcs
        finally:
            await state.close()
