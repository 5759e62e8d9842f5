"""Two server processes on one database: a write or delete on one shows in the ranks of
the other within the stated bound (core/ranks.py VISIBILITY_BOUND_SEC), and a process
whose listen connection drops rebuilds its ranks from the database."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nakama_py.core.ranks import VISIBILITY_BOUND_SEC
from nakama_py.state import ServerState
from tests.support.server import ServerProcess, start_server
from tests.support.users import TestUser, create_user_in


def request(server: ServerProcess, method: str, path: str, user: TestUser, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=user.auth)
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


def wait_for(check: Callable[[], bool], bound: float) -> float:
    """Poll until ``check`` holds; the seconds it took. Fails past ``bound``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > bound:
            raise AssertionError(f"not visible within {bound} s")
        time.sleep(0.002)
    return time.monotonic() - started


@pytest.fixture
def servers(tmp_path: Path, database_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    first = start_server(tmp_path / "a", database_url)
    try:
        second = start_server(tmp_path / "b", database_url)
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


async def test_a_write_on_one_process_ranks_on_the_other_within_the_bound(
        state: ServerState, database_url: str, servers: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = servers
    board = f"procs-{uuid.uuid4().hex[:10]}"
    await state.leaderboards.create(board)  # after the servers started: they learn of it on first use
    alice, bob = create_user_in(database_url), create_user_in(database_url)

    def owner_rank(server: ServerProcess, user: TestUser) -> tuple[str | None, str | None]:
        body = request(server, "GET", f"/v2/leaderboard/{board}?owner_ids={user.user_id}", user)
        records = body.get("owner_records", [])
        return (records[0].get("rank") if records else None), body.get("rank_count")

    assert owner_rank(b, alice) == (None, None)
    request(a, "POST", f"/v2/leaderboard/{board}", alice, {"score": 10})
    delays = [wait_for(lambda: owner_rank(b, alice) == ("1", "1"), VISIBILITY_BOUND_SEC)]
    request(b, "POST", f"/v2/leaderboard/{board}", bob, {"score": 20})
    delays.append(wait_for(lambda: owner_rank(a, alice) == ("2", "2"), VISIBILITY_BOUND_SEC))
    request(b, "POST", f"/v2/leaderboard/{board}", alice, {"score": 30})  # an update moves alice up
    delays.append(wait_for(lambda: owner_rank(a, alice) == ("1", "2"), VISIBILITY_BOUND_SEC))
    request(a, "DELETE", f"/v2/leaderboard/{board}", bob)
    delays.append(wait_for(lambda: owner_rank(b, alice) == ("1", "1"), VISIBILITY_BOUND_SEC))
    print("cross-process visibility delays (s):", [round(d, 4) for d in delays])


async def test_a_lost_listen_connection_reloads_the_ranks(
        state: ServerState, database_url: str, servers: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = servers
    board = f"reload-{uuid.uuid4().hex[:10]}"
    await state.leaderboards.create(board)
    alice = create_user_in(database_url)
    request(a, "POST", f"/v2/leaderboard/{board}", alice, {"score": 5})
    wait_for(lambda: request(b, "GET", f"/v2/leaderboard/{board}", alice).get("rank_count") == "1",
             VISIBILITY_BOUND_SEC)
    # A record written behind every process's back announces nothing...
    await state.db.execute("INSERT INTO leaderboard_record (leaderboard_id, owner_id, score) VALUES (%s, %s, 9)",
                           (board, str(uuid.uuid4())))
    await asyncio.sleep(0.3)
    assert request(b, "GET", f"/v2/leaderboard/{board}", alice).get("rank_count") == "1"
    # ...until the listen connections drop: each process rebuilds its ranks when it is back.
    await state.db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE application_name = 'nakama-py-listener' AND datname = current_database()")

    def reloaded(server: ServerProcess) -> Callable[[], bool]:
        path = f"/v2/leaderboard/{board}?owner_ids={alice.user_id}"
        return lambda: request(server, "GET", path, alice)["owner_records"][0].get("rank") == "2"

    for server in (b, a):
        wait_for(reloaded(server), 15)
