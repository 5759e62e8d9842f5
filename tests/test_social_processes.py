"""Social features with several processes on one database: a server with two worker processes
and a second server. Friends and groups live in PostgreSQL only; a tournament created in one
process reaches every other within the leaderboards' visibility bound (the board announcement
carries its rules), and takes scores everywhere at once (an unknown id is read from the database)."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nakama_py.core.ranks import VISIBILITY_BOUND_SEC
from tests.support.modules import write_module
from tests.support.server import ServerProcess, start_server
from tests.support.users import TestUser, create_user_in


def request(server: ServerProcess, method: str, path: str, user: TestUser, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=user.auth)
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


MODULE = """
import time

async def make_tournament(ctx, logger, nk, payload):
    body = nk.json_decode(payload)
    tournament = await nk.tournament_create("procs-" + nk.uuid_v4(), authoritative=False,
                                            category=body["category"], start_time=int(time.time()) - 5,
                                            duration=3600)
    return nk.json_encode({"id": tournament.id})

def init_module(ctx, logger, nk, initializer):
    initializer.register_rpc("make_tournament", make_tournament)
"""


@pytest.fixture
def servers(tmp_path: Path, database_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    modules = tmp_path / "modules"
    write_module(modules, "procs_tournaments.py", MODULE)
    first = start_server(tmp_path / "a", database_url, "--socket.workers", "2", "--runtime.path", str(modules))
    try:
        second = start_server(tmp_path / "b", database_url, "--runtime.path", str(modules))
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def test_friends_groups_and_tournaments_across_processes(servers: tuple[ServerProcess, ServerProcess],
                                                         database_url: str) -> None:
    a, b = servers
    alice, bob = create_user_in(database_url), create_user_in(database_url)
    # each request may land on either worker of a; b is another server
    request(a, "POST", f"/v2/friend?ids={bob.user_id}", alice)
    request(b, "POST", f"/v2/friend?ids={alice.user_id}", bob)
    for server in (a, a, b):
        friends = request(server, "GET", "/v2/friend", alice)["friends"]
        assert [(f["user"]["id"], f["state"]) for f in friends] == [(bob.user_id, 0)]
    group = request(a, "POST", "/v2/group", alice, {"name": "procs-" + uuid.uuid4().hex, "open": True,
                                                    "max_count": 2})
    request(b, "POST", f"/v2/group/{group['id']}/join", bob)
    for server in (a, a, b):
        states = sorted(u["state"] for u in request(server, "GET", f"/v2/group/{group['id']}/user", alice)
                        ["group_users"])
        assert states == [0, 2]
    # a tournament made on the second server: the first server's workers list it and take scores at once
    category = 50 + uuid.uuid4().int % 20
    created = request(b, "POST", "/v2/rpc/make_tournament?unwrap=true", alice, {"category": category})
    path = f"/v2/tournament?category_start={category}&category_end={category}"
    deadline = time.time() + VISIBILITY_BOUND_SEC + 1
    seen = 0
    while seen < 4:  # visible on both workers within the bound, and then stays so
        listed = [t["id"] for t in request(a, "GET", path, alice).get("tournaments", [])]
        seen = seen + 1 if listed == [created["id"]] else 0
        assert seen or time.time() < deadline, "the tournament did not reach the other server's workers"
        time.sleep(0.02)
    record = request(b, "POST", f"/v2/tournament/{created['id']}", alice, {"score": "5"})
    assert record["rank"] == "1"
    deadline = time.time() + 5
    while True:
        page = request(a, "GET", f"/v2/tournament/{created['id']}", bob)
        if page.get("records"):
            break
        assert time.time() < deadline
        time.sleep(0.05)
    assert [(r["owner_id"], r["rank"]) for r in page["records"]] == [(alice.user_id, "1")]
