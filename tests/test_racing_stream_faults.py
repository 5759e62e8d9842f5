"""Streamed submissions are applied exactly once through faults: two stream-mode nodes share a database and
a private NATS JetStream; one node is killed with SIGKILL while batches are in flight, NATS is restarted
while submissions keep coming, every key is replayed, and in the end every accepted submission is on the
board once (one receipt per key, and each player's best time), none is lost, and the
board equals the one a direct-mode server builds from the same submissions."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.database import create_database, drop_database, migrate
from tests.support.jetstream import PrivateJetStream
from tests.support.modules import write_module
from tests.support.racing import HTTP_KEY, racing_flags, racing_modules, rpc
from tests.support.server import ServerProcess, start_server
from tests.support.users import TestUser, create_user_in

DAY = 86400
PLAYERS = 30
SUBMISSIONS = 600

# Batches take a while (as a real screen calling out would), so a kill lands in the middle of one.
SLOW_SCREEN = """
    import asyncio

    async def slow(ctx, logger, nk, entries):
        await asyncio.sleep(0.25)
        return None

    def init_module(ctx, logger, nk, initializer):
        initializer.register_event_log_screen("racing_submissions", slow)
"""


@dataclass(frozen=True)
class Submission:
    player: int
    key: str
    seconds: float


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    stream, direct = create_database("nakama_py_faults"), create_database("nakama_py_direct")
    migrate(stream)
    migrate(direct)
    yield stream, direct
    drop_database(stream)
    drop_database(direct)


async def send(session: aiohttp.ClientSession, url: str, player: TestUser, item: Submission,
               timeout: float = 90.0) -> dict[str, Any]:
    """Submit until answered 200, as a client retries with the same key through an outage."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, reply = await rpc(session, url, "submit_race_time",
                                      {"race_time": item.seconds, "idempotency_key": item.key}, token=player.token)
            if status == 200:
                return reply  # type: ignore[no-any-return]
        except (TimeoutError, aiohttp.ClientError):
            pass
        assert time.monotonic() < deadline, f"{item.key} never accepted"
        await asyncio.sleep(0.2)


async def send_all(session: aiohttp.ClientSession, urls: list[str], players: list[TestUser],
                   items: list[Submission], parallel: int = 16) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(parallel)

    async def one(index: int, item: Submission) -> dict[str, Any]:
        async with gate:
            return await send(session, urls[index % len(urls)], players[item.player], item)

    return await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))


async def board(session: aiohttp.ClientSession, url: str, players: list[TestUser]) -> dict[int, tuple[int, int]]:
    """Player index -> (rank, race time ms) in the current cycle's standings."""
    index = {p.user_id: i for i, p in enumerate(players)}
    async with session.get(f"{url}/racing/standings?limit=1000") as response:
        assert response.status == 200
        entries = (await response.json())["entries"]
    return {index[e["user_id"]]: (e["rank"], e["race_time_ms"]) for e in entries}


async def all_applied(session: aiohttp.ClientSession, url: str, players: list[TestUser],
                      items: list[Submission], timeout: float) -> float:
    """Wait until get_submission says applied for every key; the seconds it took."""
    started = time.monotonic()
    pending = list(items)
    while pending:
        assert time.monotonic() - started < timeout, f"{len(pending)} submissions never applied"
        still = []
        for item in pending:
            status, reply = await rpc(session, url, "get_submission", {"idempotency_key": item.key},
                                      token=players[item.player].token)
            assert status == 200, reply
            assert reply["status"] != "rejected", reply
            if reply["status"] != "applied":
                still.append(item)
        pending = still
        if pending:
            await asyncio.sleep(0.5)
    return time.monotonic() - started


async def test_every_streamed_submission_is_applied_once_through_kills_and_a_nats_restart(
        databases: tuple[str, str], tmp_path: Path) -> None:
    stream_db, direct_db = databases
    nats = PrivateJetStream(tmp_path / "nats")
    nats.start()
    modules = racing_modules(tmp_path)
    write_module(modules, "slow_screen.py", SLOW_SCREEN)
    common = ["--logger.level", "info", *racing_flags(tmp_path, cycle_seconds=DAY, submit_rate_per_minute=100000)]
    stream_args = [*common, "--runtime.env", "racing_submit_mode=stream", "--runtime.env",
                   "racing_stream_batch_size=40", "--cluster.nats_url", nats.url, "--cluster.nats_prefix", "faults"]
    node_a = start_server(tmp_path / "a", stream_db, "--name", "node-a", *stream_args)
    node_b = start_server(tmp_path / "b", stream_db, "--name", "node-b", *stream_args)
    direct = start_server(tmp_path / "d", direct_db, "--name", "direct", *common)
    servers: list[ServerProcess] = [node_a, node_b, direct]
    try:
        rng = random.Random(13)
        items = [Submission(rng.randrange(PLAYERS), f"key-{n}", round(rng.uniform(40, 90), 3))
                 for n in range(SUBMISSIONS)]
        stream_players = [create_user_in(stream_db) for _ in range(PLAYERS)]
        direct_players = [create_user_in(direct_db) for _ in range(PLAYERS)]
        first, second, third = items[:250], items[250:420], items[420:]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            replies = await send_all(session, [node_a.url, node_b.url], stream_players, first)
            assert all(r["status"] == "accepted" for r in replies)
            await asyncio.sleep(0.3)  # both nodes are busy with batches of the backlog
            node_a.stop(signal.SIGKILL)  # mid-batch: its entries come again to node b after the ack wait

            sending = asyncio.create_task(send_all(session, [node_b.url], stream_players, second, parallel=4))
            await asyncio.sleep(0.5)
            nats.restart()  # submissions in flight fail over to retries with the same keys
            await sending

            node_a = start_server(tmp_path / "a", stream_db, "--name", "node-a", *stream_args, port=node_a.port)
            servers.append(node_a)
            await send_all(session, [node_a.url, node_b.url], stream_players, third)
            replays = await send_all(session, [node_b.url, node_a.url], stream_players, items)  # every key again
            assert all(r["status"] in ("applied", "accepted") for r in replays)
            drained = await all_applied(session, node_a.url, stream_players, items, timeout=120)

            await send_all(session, [direct.url], direct_players, items)
            await send_all(session, [direct.url], direct_players, items)  # the same replays
            streamed, direct_board = await board(session, node_b.url, stream_players), \
                await board(session, direct.url, direct_players)
            counts = [(await rpc(session, url, "system_metrics", {}, http_key=HTTP_KEY))[1]["submissions_this_cycle"]
                      for url in (node_b.url, direct.url)]

        submitted: dict[int, list[float]] = {}
        for item in items:
            submitted.setdefault(item.player, []).append(item.seconds)
        assert {p: score for p, (_, score) in streamed.items()} == \
            {p: round(min(times) * 1000) for p, times in submitted.items()}  # each player's best time
        assert streamed == direct_board  # ranks and times: what the direct mode builds from the same submissions
        assert counts == [SUBMISSIONS, SUBMISSIONS]  # one receipt per key: every submission applied, once
        logs = node_a.log() + node_b.log()
        redelivered = logs.count("racing_submissions batch delivered again")
        print(f"\nstream faults: {SUBMISSIONS} submissions by {PLAYERS} players, node killed mid-batch, NATS "
              f"restarted, every key replayed; all applied once, drained {drained:.1f}s after the last replay; "
              f"{redelivered} batches were delivered again and absorbed by the receipts")
    finally:
        for server in servers:
            server.stop()
        nats.stop()
