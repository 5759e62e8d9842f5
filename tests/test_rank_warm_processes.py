"""A server with a big board serves at once: it is ready before its ranks are warm (the warm-up
runs in the background in every worker), its reads are right while warming (the database counts
the ranks), and the same once the ranks are in memory."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import psycopg

from tests.support.server import ServerProcess, start_server
from tests.support.users import TestUser, create_user_in

BOARD = "warm_big"
RECORDS = 60_000
WORKERS = 2


def request(server: ServerProcess, path: str, user: TestUser) -> Any:
    req = urllib.request.Request(server.url + path, headers=user.auth)
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())


def fill(database_url: str) -> list[tuple[str, int]]:
    """The board and its records; (owner, rank) of a few owners, ranked by SQL."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO leaderboard (id, authoritative, sort_order, operator, metadata)"
                     " VALUES (%s, false, 1, 0, '{}')", (BOARD,))
        conn.execute("INSERT INTO leaderboard_record (leaderboard_id, owner_id, username, score, subscore, metadata)"
                     " SELECT %s, gen_random_uuid(), 'racer_' || i, (i * 7919) %% 5000, i %% 3, '{}'"
                     " FROM generate_series(1, %s) AS i", (BOARD, RECORDS))
        conn.execute("ANALYZE leaderboard_record")
        rows = conn.execute(
            "SELECT owner_id::text, rank FROM (SELECT owner_id, row_number() OVER"
            " (ORDER BY score DESC, subscore DESC, owner_id DESC) AS rank FROM leaderboard_record"
            " WHERE leaderboard_id = %s) ranked WHERE rank %% 9973 = 1 ORDER BY rank", (BOARD,)).fetchall()
    return [(str(owner), int(rank)) for owner, rank in rows]


def read_ranks(server: ServerProcess, user: TestUser, owners: list[str]) -> tuple[Any, ...]:
    listed = request(server, f"/v2/leaderboard/{BOARD}?limit=3&owner_ids=" + "&owner_ids=".join(owners), user)
    hay = request(server, f"/v2/leaderboard/{BOARD}/owner/{owners[1]}?limit=5", user)
    return ({r["owner_id"]: int(r["rank"]) for r in listed["owner_records"]}, listed["rank_count"],
            [(r["owner_id"], r["rank"]) for r in listed["records"]],
            [(r["owner_id"], r["rank"]) for r in hay["records"]], hay["rank_count"])


def test_a_big_board_does_not_hold_back_start_up(tmp_path: Path, own_database: str) -> None:
    expected = fill(own_database)
    user = create_user_in(own_database)
    server = start_server(tmp_path, own_database, "--socket.workers", str(WORKERS))
    try:
        ready = server.log()
        cold = read_ranks(server, user, [owner for owner, _ in expected])
        deadline = time.monotonic() + 120
        while server.log().count("leaderboard ranks warmed") < WORKERS:
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.1)
        warm = read_ranks(server, user, [owner for owner, _ in expected])
    finally:
        server.stop()
    # Every worker reported ready before its warm-up of RECORDS records ended.
    assert ready.count("server ready") >= 1, ready[-3000:]
    log = server.log()
    assert log.index("server ready") < log.index("leaderboard ranks warmed"), log[-3000:]
    assert cold[0] == dict(expected) and cold[1] == str(RECORDS)
    assert [rank for _, rank in cold[2]] == ['1', '2', '3']
    assert cold[3][0][0] is not None and cold[4] == str(RECORDS)
    assert warm == cold
