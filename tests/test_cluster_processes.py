"""The cluster bus between real server processes on one database: a message larger than
PostgreSQL's NOTIFY limit travels from one server to the other, and a server killed with
SIGKILL drops out of the others' membership (``<prefix>_cluster_processes`` on /metrics)
within the bound."""

from __future__ import annotations

import asyncio
import re
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from nakama_py.cluster.membership import EXPIRY_SEC
from nakama_py.core.rank_sync import TOPIC as RANKS_TOPIC
from nakama_py.core.ranks import VISIBILITY_BOUND_SEC
from nakama_py.state import CLUSTER_GAUGE_INTERVAL_SEC, ServerState
from tests.support.modules import write_module
from tests.support.ports import free_port
from tests.support.racing import HTTP_KEY, rpc
from tests.support.server import ServerProcess, start_server
from tests.support.users import create_user_in

PROBE = """
    from nakama_py.runtime import Context, Initializer, NakamaModule, RuntimeLogger


    async def create_board(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
        args = nk.json_decode(payload)
        await nk.leaderboard_create(args["id"], metadata={"blob": "x" * args["metadata_bytes"]})
        return ""


    async def disable_ranks(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
        await nk.leaderboard_ranks_disable(nk.json_decode(payload)["id"])
        return ""


    async def init_module(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, initializer: Initializer) -> None:
        initializer.register_rpc("probe_create_board", create_board)
        initializer.register_rpc("probe_disable_ranks", disable_ranks)
"""
GAUGE = re.compile(r"^nakama_cluster_processes (\S+)$", re.MULTILINE)


def start(tmp: Path, database_url: str, metrics_port: int) -> ServerProcess:
    modules = tmp.parent / "modules"
    write_module(modules, "probe.py", PROBE)
    return start_server(tmp, database_url, "--runtime.path", str(modules), "--runtime.http_key", HTTP_KEY,
                        "--metrics.prometheus_port", str(metrics_port))


async def cluster_gauge(session: aiohttp.ClientSession, metrics_port: int) -> int:
    async with session.get(f"http://127.0.0.1:{metrics_port}/metrics") as response:
        found = GAUGE.search(await response.text())
    assert found is not None, "no cluster_processes gauge exported"
    return int(float(found.group(1)))


async def gauge_until(session: aiohttp.ClientSession, metrics_port: int, wanted: Callable[[int], bool],
                      timeout: float) -> tuple[int, float]:
    """Poll the gauge until ``wanted`` holds: its value and the seconds it took. Fails past ``timeout``."""
    started = time.monotonic()
    for _ in range(int(timeout / 0.1) + 1):
        value = await cluster_gauge(session, metrics_port)
        if wanted(value):
            return value, time.monotonic() - started
        if time.monotonic() - started > timeout:
            break
        await asyncio.sleep(0.1)
    raise AssertionError(f"cluster_processes still {value} after {timeout} s")


@pytest.mark.slow
async def test_servers_exchange_a_message_past_notify_limit_and_drop_a_killed_peer(
        state: ServerState, database_url: str, tmp_path: Path) -> None:
    metrics_a, metrics_b = free_port(), free_port()
    a = start(tmp_path / "a", database_url, metrics_a)
    try:
        b = start(tmp_path / "b", database_url, metrics_b)
    except BaseException:
        a.stop()
        raise
    board = f"bus-{uuid.uuid4().hex[:10]}"
    alice = create_user_in(database_url)
    try:
        async with aiohttp.ClientSession() as session:
            # Both servers and this test's own process: three alive, as b sees it.
            peers, _ = await gauge_until(session, metrics_b, lambda n: n >= 3, 10)

            status, _ = await rpc(session, a.url, "probe_create_board", {"id": board, "metadata_bytes": 20_000},
                                  http_key=HTTP_KEY)
            assert status == 200
            async with session.post(f"{b.url}/v2/leaderboard/{board}", json={"score": 7}, headers=alice.auth) as r:
                assert r.status == 200
            async with session.get(f"{b.url}/v2/leaderboard/{board}", headers=alice.auth) as r:
                assert (await r.json()).get("rank_count") == "1"
            # Ranks switched off on a: the board's new definition (20 KB of metadata, past NOTIFY's
            # 8000 bytes) reaches b over the bus, and b stops ranking.
            status, _ = await rpc(session, a.url, "probe_disable_ranks", {"id": board}, http_key=HTTP_KEY)
            assert status == 200
            started = time.monotonic()
            while True:
                async with session.get(f"{b.url}/v2/leaderboard/{board}", headers=alice.auth) as r:
                    body = await r.json()
                if "rank_count" not in body:  # 0, dropped from the reply: the board has no ranks
                    break
                assert time.monotonic() - started < VISIBILITY_BOUND_SEC, "b still ranks the board"
                await asyncio.sleep(0.01)
            spilled = await state.db.fetchval("SELECT count(*) FROM nakama_py_cluster_message"
                                              " WHERE topic = %s AND length(payload) > 20000", (RANKS_TOPIC,))
            assert spilled >= 2  # the board's creation and its change, each carried by a table row

            a.stop(signal.SIGKILL)
            _, dropped_after = await gauge_until(session, metrics_b, lambda n: n == peers - 1,
                                                 EXPIRY_SEC + CLUSTER_GAUGE_INTERVAL_SEC + 1)
            assert dropped_after > 1  # it took the expiry (a clean stop would have been dropped at once)
            print(f"killed process dropped from membership after {dropped_after:.1f} s")
    finally:
        a.stop()
        b.stop()
