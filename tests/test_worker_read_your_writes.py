"""Read-your-writes across the worker processes of one server (``--socket.workers 2``,
cluster/write_marks.py): a player whose write went to one worker and whose very next request
reaches the other (another connection) sees that write there, in their RPCs (the runtime's
``nk.leaderboard_rank``, the racing module's ``get_leaderboard``) and on the REST routes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from nakama_py.cluster.write_marks import SLOTS, MarkRegion, WriteMarks
from tests.support.auth import basic
from tests.support.modules import write_module
from tests.support.racing import racing_flags, rpc
from tests.support.server import ServerProcess, start_server

ROUNDS = 40

PROBE = """
import os

BOARD = "ryw"


async def whoami(ctx, logger, nk, payload):
    return str(os.getpid())


async def write(ctx, logger, nk, payload):
    await nk.leaderboard_record_write(BOARD, ctx.user_id, score=int(payload), override_operator="set")
    return str(os.getpid())


async def mine(ctx, logger, nk, payload):
    entry = await nk.leaderboard_rank(BOARD, ctx.user_id)
    return nk.json_encode({"pid": os.getpid(), "score": entry.score if entry else None})


async def init_module(ctx, logger, nk, initializer):
    await nk.leaderboard_create(BOARD, sort_order="desc", operator="set")
    initializer.register_rpc("whoami", whoami)
    initializer.register_rpc("write", write)
    initializer.register_rpc("mine", mine)
"""


@pytest.fixture
def server(tmp_path: Path, own_database: str) -> Iterator[ServerProcess]:
    flags = racing_flags(tmp_path, submit_rate_per_minute=100000)
    write_module(Path(flags[1]), "probe.py", PROBE)
    process = start_server(tmp_path, own_database, *flags, "--socket.workers", "2")
    try:
        yield process
    finally:
        process.stop()


async def sign_in(base: str) -> str:
    async with aiohttp.ClientSession() as http, http.post(
            f"{base}/v2/account/authenticate/custom?create=true", json={"id": f"ryw-{uuid.uuid4().hex}"},
            headers=basic()) as response:
        assert response.status == 200
        return str((await response.json())["token"])


async def call(http: aiohttp.ClientSession, base: str, rpc_id: str, token: str, payload: str = "") -> str:
    async with http.post(f"{base}/v2/rpc/{rpc_id}?unwrap", data=payload,
                         headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200, await response.text()
        return await response.text()


async def one_connection_per_worker(base: str, token: str) -> tuple[list[aiohttp.ClientSession], list[int]]:
    """Two keep-alive connections that the kernel gave to different workers, and the workers' pids."""
    by_pid: dict[int, aiohttp.ClientSession] = {}
    spare: list[aiohttp.ClientSession] = []
    for _ in range(64):
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        pid = int(await call(http, base, "whoami", token))
        if pid in by_pid:
            spare.append(http)
        else:
            by_pid[pid] = http
        if len(by_pid) == 2:
            break
    for http in spare:
        await http.close()
    assert len(by_pid) == 2, "every connection reached the same worker"
    return list(by_pid.values()), list(by_pid)


async def close_all(sessions: list[aiohttp.ClientSession]) -> None:
    for http in sessions:
        await http.close()


async def test_a_write_on_one_worker_is_seen_by_the_next_rpc_on_the_other(server: ServerProcess) -> None:
    token = await sign_in(server.url)
    sessions, pids = await one_connection_per_worker(server.url, token)
    try:
        for score in range(1, ROUNDS + 1):
            writer, reader = (0, 1) if score % 2 else (1, 0)
            assert int(await call(sessions[writer], server.url, "write", token, str(score))) == pids[writer]
            seen = json.loads(await call(sessions[reader], server.url, "mine", token))
            assert seen == {"pid": pids[reader], "score": score}
    finally:
        await close_all(sessions)


async def test_a_race_time_submitted_on_one_worker_shows_in_get_leaderboard_on_the_other(
        server: ServerProcess) -> None:
    token = await sign_in(server.url)
    sessions, _ = await one_connection_per_worker(server.url, token)
    try:
        # Each round beats the last, so the player's best (and entry) changes every time. The reading
        # worker never writes, so nothing of its own drops its memo of the entries.
        writer, reader = 0, 1
        for round_number in range(ROUNDS):
            time_ms = 60_000 - round_number * 100
            status, reply = await rpc(sessions[writer], server.url, "submit_race_time",
                                      {"race_time": time_ms / 1000, "idempotency_key": uuid.uuid4().hex}, token=token)
            assert status == 200 and reply["best_time_ms"] == time_ms, reply
            status, board = await rpc(sessions[reader], server.url, "get_leaderboard", {"limit": 10}, token=token)
            assert status == 200
            assert board["me"] == {"rank": 1, "race_time_ms": time_ms}
            assert board["entries"][0]["race_time_ms"] == time_ms
    finally:
        await close_all(sessions)


async def test_rest_reads_on_the_other_worker_rank_the_callers_latest_write(server: ServerProcess) -> None:
    token = await sign_in(server.url)
    sessions, _ = await one_connection_per_worker(server.url, token)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        user_id = await _user_id(sessions[0], server.url, headers)
        rival = await sign_in(server.url)
        await call(sessions[0], server.url, "write", rival, "500")
        for score in (100, 1000, 200, 2000):
            await call(sessions[0], server.url, "write", token, str(score))
            expected_rank = 1 if score > 500 else 2
            async with sessions[1].get(f"{server.url}/v2/leaderboard/ryw/owner/{user_id}?limit=1",
                                       headers=headers) as response:
                around: Any = await response.json()
            mine = [r for r in around["records"] if r["owner_id"] == user_id]
            assert mine and mine[0]["score"] == str(score) and mine[0]["rank"] == str(expected_rank), around
            async with sessions[1].get(f"{server.url}/v2/leaderboard/ryw?owner_ids={user_id}",
                                       headers=headers) as response:
                listed: Any = await response.json()
            assert listed["owner_records"][0]["rank"] == str(expected_rank), listed
    finally:
        await close_all(sessions)


async def _user_id(http: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> str:
    async with http.get(f"{base}/v2/account", headers=headers) as response:
        return str((await response.json())["user"]["id"])


def test_marks_count_and_wait_only_for_the_owner_group_written() -> None:
    """The shared region as two forked workers use it (here: two views in one process)."""
    region = MarkRegion(2)
    writer, reader = WriteMarks(region, 0), WriteMarks(region, 1)
    owner = 7
    assert writer.mark(owner) == 1 and writer.mark(None) == 2

    async def scenario() -> None:
        assert await reader.caught_up(owner + 1, 0.05)  # another owner group: no wait
        assert await writer.caught_up(owner, 0.05)  # the writer itself: no wait
        late: list[bool] = []
        reader.on_late = lambda: late.append(True)
        assert not await reader.caught_up(owner, 0.05)  # nothing heard: late, a reload is asked for
        assert late == [True]
        waiter = asyncio.create_task(reader.caught_up(owner, 5))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        reader.heard(0, 1)  # the writer's NOTIFY with its changes up to 1
        assert await asyncio.wait_for(waiter, 1)
        assert await reader.caught_up(owner + SLOTS, 0.05)  # same group, already heard

    asyncio.run(scenario())
    assert reader.heads() == [2, 0]
    assert WriteMarks(region, 0).mark(owner) == 3  # a restarted worker goes on counting
