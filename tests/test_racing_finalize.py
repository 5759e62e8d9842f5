"""Finalizing a cycle exactly once: concurrent calls, two server processes, a process killed midway."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from tests.support.racing import HTTP_KEY, racing_flags, rpc, until_cycle_end, until_cycle_start
from tests.support.server import ServerProcess, start_server
from tests.support.users import TestUser, create_user_in

CYCLE = 4  # seconds: short enough to end cycles within a test
REWARDS = [1000, 500, 250, 100, 100, 100, 100, 100, 100, 100]



def start_racing(tmp: Path, db: str, name: str, **env: object) -> ServerProcess:
    return start_server(tmp / name, db, *racing_flags(tmp, cycle_seconds=CYCLE, **env))


async def fill_cycle(base: str, players: list[TestUser]) -> int:
    """Every player submits once, early in one cycle; player i finishes in i+1 seconds. The cycle."""
    cycle = await until_cycle_start(CYCLE, margin=0.1)
    async with aiohttp.ClientSession() as session:
        replies = await asyncio.gather(*(
            rpc(session, base, "submit_race_time", {"race_time": index + 1 + index / 1000, "idempotency_key": "f"},
                token=player.token)
            for index, player in enumerate(players)))
    assert all(status == 200 and reply["cycle"] == cycle for status, reply in replies), replies
    return cycle


def payouts(db: str, cycle: int) -> dict[str, list[int]]:
    """Per user: the coins of each ledger entry for this cycle's reward."""
    with psycopg.connect(db) as conn:
        rows = conn.execute(
            "SELECT user_id::text, (changeset->>'coins')::int FROM wallet_ledger"
            " WHERE metadata->>'reason' = 'racing_reward' AND (metadata->>'cycle')::bigint = %s", (cycle,)).fetchall()
    found: dict[str, list[int]] = {}
    for user_id, coins in rows:
        found.setdefault(user_id, []).append(coins)
    return found


def wallet_coins(db: str, user_id: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT COALESCE((wallet->>'coins')::int, 0) FROM users WHERE id = %s",
                           (user_id,)).fetchone()
    assert row is not None
    return int(row[0])


def snapshot(db: str, cycle: int) -> tuple[dict[str, Any], str]:
    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT value::text, version FROM storage WHERE collection = 'race_data' AND key = %s"
                            " AND user_id = '00000000-0000-0000-0000-000000000000'",
                            (f"snapshot_{cycle}",)).fetchall()
    assert len(rows) == 1
    return json.loads(rows[0][0]), rows[0][1]


def reward_notifications(db: str, user_id: str) -> list[tuple[str, int, dict[str, Any]]]:
    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT subject, code, content FROM notification WHERE user_id = %s",
                            (user_id,)).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


def assert_paid_once(db: str, cycle: int, players: list[TestUser]) -> None:
    paid = payouts(db, cycle)
    for rank, player in enumerate(players[:10], start=1):
        assert paid.get(player.user_id) == [REWARDS[rank - 1]], (rank, paid.get(player.user_id))
        assert wallet_coins(db, player.user_id) == REWARDS[rank - 1]
        with psycopg.connect(db) as conn:
            receipts = conn.execute("SELECT value FROM storage WHERE collection = 'race_data' AND key = %s"
                                    " AND user_id = %s", (f"reward_{cycle}", player.user_id)).fetchall()
        assert len(receipts) == 1 and receipts[0][0]["coins"] == REWARDS[rank - 1]
        # Exactly one persistent reward notification, stored with the payment.
        assert reward_notifications(db, player.user_id) == [
            ("Racing reward", 101, {"cycle": cycle, "rank": rank, "coins": REWARDS[rank - 1]})]
    for player in players[10:]:
        assert player.user_id not in paid and wallet_coins(db, player.user_id) == 0
        assert reward_notifications(db, player.user_id) == []
    value, _ = snapshot(db, cycle)
    assert [entry["user_id"] for entry in value["entries"]] == [p.user_id for p in players[:10]]
    assert value["records"] == len(players)


async def test_many_concurrent_finalizations_pay_once(tmp_path: Path, own_database: str) -> None:
    server = start_racing(tmp_path, own_database, "a")
    try:
        players = [create_user_in(own_database, f"p{i:02d}") for i in range(12)]
        cycle = await fill_cycle(server.url, players)
        await until_cycle_end(cycle, CYCLE, settle=0.1)  # race the server's own reset hook too
        async with aiohttp.ClientSession() as session:
            replies = await asyncio.gather(*(
                rpc(session, server.url, "manual_reset_leaderboard", {"cycle": cycle}, http_key=HTTP_KEY)
                for _ in range(25)))
            assert {status for status, _ in replies} == {200}
            expected = [{"rank": i + 1, "user_id": p.user_id, "username": p.username,
                         "race_time_ms": round((i + 1 + i / 1000) * 1000), "coins": REWARDS[i]}
                        for i, p in enumerate(players[:10])]
            assert all(reply["rewarded"] == expected and reply["finalized"] for _, reply in replies)
            assert_paid_once(own_database, cycle, players)
            status, later = await rpc(session, server.url, "manual_reset_leaderboard", {"cycle": cycle},
                                      http_key=HTTP_KEY)
            assert status == 200 and later["already_finalized"] is True and later["rewarded"] == expected

            # A past cycle stays readable, with the caller's own standing.
            status, board = await rpc(session, server.url, "get_leaderboard", {"cycle": cycle, "limit": 3},
                                      token=players[4].token)
            assert status == 200
            assert [entry["user_id"] for entry in board["entries"]] == [p.user_id for p in players[:3]]
            assert board["total"] == 12 and board["me"] == {"rank": 5, "race_time_ms": 5004}
            status, metrics = await rpc(session, server.url, "system_metrics", {}, http_key=HTTP_KEY)
            assert metrics["last_reset"]["cycle"] >= cycle
    finally:
        server.stop()


async def test_two_server_processes_finalize_once(tmp_path: Path, own_database: str) -> None:
    first = start_racing(tmp_path, own_database, "a")
    second = start_racing(tmp_path, own_database, "b")
    try:
        players = [create_user_in(own_database, f"q{i:02d}") for i in range(11)]
        cycle = await fill_cycle(first.url, players)
        await until_cycle_end(cycle, CYCLE, settle=0.1)
        async with aiohttp.ClientSession() as session:
            replies = await asyncio.gather(*(
                rpc(session, server.url, "manual_reset_leaderboard", {"cycle": cycle}, http_key=HTTP_KEY)
                for server in (first, second) for _ in range(8)))
        assert {status for status, _ in replies} == {200}
        assert_paid_once(own_database, cycle, players)
    finally:
        first.stop()
        second.stop()


async def test_a_process_killed_midway_pays_the_rest_once_on_retry(tmp_path: Path, own_database: str) -> None:
    first = start_racing(tmp_path, own_database, "a")
    players = [create_user_in(own_database, f"k{i:02d}") for i in range(10)]
    cycle = await fill_cycle(first.url, players)
    # Hold the fifth player's row: the finalization started by the reset hook pays the others, then waits.
    blocker = psycopg.connect(own_database)
    blocker.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (players[4].user_id,))
    second: ServerProcess | None = None
    try:
        await until_cycle_end(cycle, CYCLE, settle=0.0)
        deadline = time.monotonic() + 30
        while len(payouts(own_database, cycle)) < 9:
            assert time.monotonic() < deadline, "the reset hook did not start finalizing"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert len(payouts(own_database, cycle)) == 9  # stuck in the middle: rank 5 unpaid
        _, version_before = snapshot(own_database, cycle)
        first.stop(signal.SIGKILL)
        blocker.rollback()
        second = start_racing(tmp_path, own_database, "b")
        async with aiohttp.ClientSession() as session:
            status, reply = await rpc(session, second.url, "manual_reset_leaderboard", {"cycle": cycle},
                                      http_key=HTTP_KEY)
            assert status == 200 and len(reply["rewarded"]) == 10
            status, again = await rpc(session, second.url, "manual_reset_leaderboard", {"cycle": cycle},
                                      http_key=HTTP_KEY)
            assert status == 200 and again["already_finalized"] is True
        assert_paid_once(own_database, cycle, players)
        assert snapshot(own_database, cycle)[1] == version_before  # the snapshot was written once
    finally:
        blocker.close()
        first.stop(signal.SIGKILL)
        if second is not None:
            second.stop()
