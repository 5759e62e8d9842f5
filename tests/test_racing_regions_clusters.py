"""Regions on separate clusters: two databases on the local PostgreSQL stand in for two clusters.

Cluster A serves us-east from its own database with two server processes (one of them with
socket.workers 2); cluster B serves eu-west from another database. Each reads the other's region only
through its racing_region_standings RPC. The global standings agree on every process of both
clusters and equal one board of everyone; a region's records exist only in its own database; a new
time on B shows on A within the cache bound; finalizing on every process of both clusters pays each
global reward exactly once, in the database of the player's own cluster.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from nakama_py.core.ranks import owner_int
from tests.support.database import create_database, drop_database, migrate
from tests.support.ports import free_port
from tests.support.racing import HTTP_KEY, racing_flags, rpc, until_cycle_end, until_cycle_start
from tests.support.server import ServerProcess, start_server
from tests.support.users import create_user_in

CYCLE = 10
CACHE_MS = 500
REWARDS = (300, 200, 100, 50)


@pytest.fixture
def second_database() -> Iterator[str]:
    url = create_database("nakama_py_region_b")
    migrate(url)
    yield url
    drop_database(url)


def start(tmp: Path, db: str, name: str, port: int, local: str, remote: str, remote_port: int,
          *extra: str) -> ServerProcess:
    return start_server(tmp / name, db, *extra, *racing_flags(
        tmp, cycle_seconds=CYCLE, regions="us-east,eu-west", region_urls=f"{remote}=http://127.0.0.1:{remote_port}",
        leaderboard_cache_ms=CACHE_MS, rewards=",".join(map(str, REWARDS))), port=port)


def records(db: str) -> list[tuple[str, str]]:
    with psycopg.connect(db) as conn:
        return [(row[0], row[1]) for row in conn.execute(
            "SELECT leaderboard_id, owner_id::text FROM leaderboard_record ORDER BY 1, 2").fetchall()]


def paid(db: str, cycle: int) -> list[tuple[str, int]]:
    with psycopg.connect(db) as conn:
        return sorted((row[0], row[1]) for row in conn.execute(
            "SELECT user_id::text, (changeset->>'coins')::int FROM wallet_ledger"
            " WHERE metadata->>'reason' = 'racing_reward' AND (metadata->>'cycle')::bigint = %s", (cycle,)))


def snapshot_entries(db: str, cycle: int) -> list[Any]:
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT value FROM storage WHERE collection = 'race_data' AND key = %s",
                           (f"snapshot_{cycle}",)).fetchone()
    assert row is not None
    return list(row[0]["entries"])


async def test_regions_on_two_clusters(tmp_path: Path, own_database: str, second_database: str) -> None:
    db_a, db_b = own_database, second_database
    port_a, port_a2, port_b = free_port(), free_port(), free_port()
    a = start(tmp_path, db_a, "a", port_a, "us-east", "eu-west", port_b, "--socket.workers", "2")
    a2 = start(tmp_path, db_a, "a2", port_a2, "us-east", "eu-west", port_b)
    b = start(tmp_path, db_b, "b", port_b, "eu-west", "us-east", port_a)
    try:
        east = [create_user_in(db_a, f"east{i}") for i in range(4)]
        west = [create_user_in(db_b, f"west{i}") for i in range(4)]
        times = {east[0]: 20.0, west[0]: 21.0, east[1]: 22.0, west[1]: 22.0, west[2]: 23.5, east[2]: 24.0,
                 east[3]: 30.0, west[3]: 31.0}  # east[1] and west[1] tie: the owner's UUID decides
        home = {p: ("us-east", (a, a2)[i % 2]) for i, p in enumerate(east)}
        home.update({p: ("eu-west", b) for p in west})
        everyone = sorted(times, key=lambda p: (round(times[p] * 1000), owner_int(p.user_id)))

        async with aiohttp.ClientSession() as session:
            cycle = await until_cycle_start(CYCLE, margin=0.1)
            replies = await asyncio.gather(*(
                rpc(session, home[p][1].url, "submit_race_time",
                    {"race_time": seconds, "idempotency_key": "k", "region": home[p][0]}, token=p.token)
                for p, seconds in times.items()))
            assert all(status == 200 and reply["cycle"] == cycle for status, reply in replies), replies
            status, body = await rpc(session, a.url, "submit_race_time",
                                     {"race_time": 40, "idempotency_key": "x", "region": "eu-west"},
                                     token=create_user_in(db_a, "lost").token)
            assert status == 400 and "served by another cluster" in body["message"]

            # Every process of both clusters: the same global standings, equal to one board of everyone.
            expected = [(rank, p.user_id, home[p][0], round(times[p] * 1000)) for rank, p in enumerate(everyone, 1)]
            for server in (a, a2, b, a):
                status, board = await rpc(session, server.url, "get_leaderboard", {"cycle": cycle},
                                          http_key=HTTP_KEY)
                assert status == 200, board
                assert [(e["rank"], e["user_id"], e["region"], e["race_time_ms"]) for e in board["entries"]] == expected
                assert board["total"] == 8 and board["regions"] == {"us-east": 4, "eu-west": 4}
            for rank, player in enumerate(everyone, start=1):
                status, mine = await rpc(session, home[player][1].url, "get_leaderboard", {"cycle": cycle, "limit": 1},
                                         token=player.token)
                assert status == 200 and mine["me"]["rank"] == rank, (rank, mine)
            status, regional = await rpc(session, a.url, "get_leaderboard", {"cycle": cycle, "region": "eu-west"},
                                         token=east[0].token)
            assert [e["user_id"] for e in regional["entries"]] == [p.user_id for p in everyone if p in west]

            # A region's records live only in its own cluster's database.
            assert {board_id for board_id, _ in records(db_a)} == {"race_times.us-east"}
            assert {board_id for board_id, _ in records(db_b)} == {"race_times.eu-west"}

            # A new best on B shows on every process of A within the cache bound.
            status, reply = await rpc(session, b.url, "submit_race_time", {"race_time": 19.0, "idempotency_key": "k2"},
                                      token=west[3].token)
            assert status == 200 and reply["cycle"] == cycle, reply
            written = time.monotonic()
            for server in (a, a2):
                while True:
                    status, board = await rpc(session, server.url, "get_leaderboard", {"cycle": cycle, "limit": 1},
                                              token=east[0].token)
                    if board["entries"][0]["user_id"] == west[3].user_id:
                        break
                    assert time.monotonic() - written < CACHE_MS / 1000 + 2.0, "the remote region's write never showed"
                    await asyncio.sleep(0.05)
                assert board["me"]["rank"] == 2
            everyone.remove(west[3])
            everyone.insert(0, west[3])

            # Finalization on every process of both clusters (and their reset hooks): each global reward once,
            # paid by the player's own cluster.
            await until_cycle_end(cycle, CYCLE, settle=0.2)
            results = await asyncio.gather(*(
                rpc(session, server.url, "manual_reset_leaderboard", {"cycle": cycle}, http_key=HTTP_KEY)
                for server in (a, a2, b) for _ in range(4)))
            assert {status for status, _ in results} == {200}, results

            # Cluster B gone: A's global view of a cycle it holds nothing cached for answers 503 naming the region;
            # its own region's view still works.
            b.stop()
            status, body = await rpc(session, a.url, "get_leaderboard", {}, token=east[0].token)
            assert status == 503 and "eu-west" in body["message"] and "http_key" not in body["message"], body
            status, regional = await rpc(session, a2.url, "get_leaderboard", {"region": "us-east", "cycle": cycle},
                                         token=east[0].token)
            assert status == 200 and len(regional["entries"]) == 4
        top = everyone[:len(REWARDS)]
        assert paid(db_a, cycle) == sorted((p.user_id, REWARDS[i]) for i, p in enumerate(top) if p in east)
        assert paid(db_b, cycle) == sorted((p.user_id, REWARDS[i]) for i, p in enumerate(top) if p in west)
        assert snapshot_entries(db_a, cycle) == snapshot_entries(db_b, cycle)
        assert [e["user_id"] for e in snapshot_entries(db_a, cycle)] == [p.user_id for p in top]
    finally:
        for server in (a, a2, b):
            server.stop()


