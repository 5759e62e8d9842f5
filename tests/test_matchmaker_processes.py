"""The matchmaker across server processes (each its own node) on one database: tickets added on any
process are grouped together by the one leader, matched messages reach each player's own process, and
when the leader is killed another process takes over, without the dead process's tickets."""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from nakama_py.cluster.membership import EXPIRY_SEC
from nakama_py.core import match_tokens
from nakama_py.core.matchmaker.service import SWEEP_INTERVAL_SEC
from tests.support.server import ServerProcess, start_server
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user_in

ARGS = ("--matchmaker.interval_sec", "1")
KEY = "defaultencryptionkey"


async def connect(http: aiohttp.ClientSession, server: ServerProcess, user: TestUser) -> JsonSocket:
    return JsonSocket(await http.ws_connect(f"{server.url}/ws?token={user.token}"))


def add(query: str, strings: dict[str, str], count: int = 2) -> dict[str, Any]:
    return {"matchmaker_add": {"query": query, "min_count": count, "max_count": count,
                               "string_properties": strings}}


@pytest.mark.parametrize("bus", ["postgresql", "nats"])
async def test_tickets_on_two_processes_match_and_removals_hold(tmp_path: Path, database_url: str, bus: str) -> None:
    # The machine's NATS (shared/services.md), under a prefix of this test's own.
    nats = ("--cluster.nats_url", "nats://127.0.0.1:4222", "--cluster.nats_prefix", f"mm{secrets.token_hex(4)}")
    args = (*ARGS, *(nats if bus == "nats" else ()))
    first = start_server(tmp_path / "a", database_url, *args, "--name", "node-a")
    second = start_server(tmp_path / "b", database_url, *args, "--name", "node-b")
    alice, bob, carol, dave = (create_user_in(database_url) for _ in range(4))
    try:
        async with aiohttp.ClientSession() as http:
            on_a, on_b = await connect(http, first, alice), await connect(http, second, bob)
            await asyncio.sleep(1)  # each process sees the other's sockets (the router finds them)
            query = "+properties.track:monza"
            ticket_a = (await on_a.request(add(query, {"track": "monza"})))["matchmaker_ticket"]["ticket"]
            ticket_b = (await on_b.request(add(query, {"track": "monza"})))["matchmaker_ticket"]["ticket"]
            got_a = await on_a.pushed_with("matchmaker_matched", timeout=8)
            got_b = await on_b.pushed_with("matchmaker_matched", timeout=8)
            assert (got_a["ticket"], got_b["ticket"]) == (ticket_a, ticket_b)
            assert got_a["token"] == got_b["token"] and match_tokens.verify(got_a["token"], KEY).endswith(".")
            assert {u["presence"]["user_id"] for u in got_b["users"]} == {alice.user_id, bob.user_id}

            # A ticket removed on its process is gone for the leader too, wherever the leader is.
            on_c, on_d = await connect(http, first, carol), await connect(http, second, dave)
            await asyncio.sleep(1)
            query = "+properties.track:spa"
            ticket_c = (await on_c.request(add(query, {"track": "spa"})))["matchmaker_ticket"]["ticket"]
            assert await on_c.request({"matchmaker_remove": {"ticket": ticket_c}}) == {}
            await on_d.request(add(query, {"track": "spa"}))
            assert await on_d.nothing_pushed("matchmaker_matched", wait=3)
            # The ticket of a socket that closes goes too.
            await on_d.ws.close()
            await on_c.request(add(query, {"track": "spa"}))
            assert await on_c.nothing_pushed("matchmaker_matched", wait=3)
    finally:
        second.stop()
        first.stop()


async def test_a_killed_leader_is_replaced_and_its_tickets_dropped(tmp_path: Path, database_url: str) -> None:
    # The first process to start takes the matchmaker's leader job.
    leader = start_server(tmp_path / "a", database_url, *ARGS, "--name", "node-a")
    b = start_server(tmp_path / "b", database_url, *ARGS, "--name", "node-b")
    c = start_server(tmp_path / "c", database_url, *ARGS, "--name", "node-c")
    ghost, alice, bob, carol = (create_user_in(database_url) for _ in range(4))
    query = "+properties.mode:trio"
    try:
        async with aiohttp.ClientSession() as http:
            on_leader = await connect(http, leader, ghost)
            on_b, on_c = await connect(http, b, alice), await connect(http, c, bob)
            await asyncio.sleep(1)
            await on_leader.request(add(query, {"mode": "trio"}, 3))
            await on_b.request(add(query, {"mode": "trio"}, 3))
            assert await on_b.nothing_pushed("matchmaker_matched", wait=2)  # two of three: no group yet

            killed_at = time.monotonic()
            leader.stop(signal.SIGKILL)
            # The dead process's ticket leaves the replicas within the membership bound plus a sweep.
            await asyncio.sleep(EXPIRY_SEC + SWEEP_INTERVAL_SEC + 2 - (time.monotonic() - killed_at))
            await on_c.request(add(query, {"mode": "trio"}, 3))
            assert await on_c.nothing_pushed("matchmaker_matched", wait=3)  # the ghost's ticket is gone

            on_carol = await connect(http, c, carol)
            await asyncio.sleep(1)
            await on_carol.request(add(query, {"mode": "trio"}, 3))
            matched = [await s.pushed_with("matchmaker_matched", timeout=8) for s in (on_b, on_c, on_carol)]
            users = {u["presence"]["user_id"] for u in matched[0]["users"]}
            assert users == {alice.user_id, bob.user_id, carol.user_id}
            assert len({m["token"] for m in matched}) == 1
    finally:
        c.stop()
        b.stop()
        leader.stop()
