"""Parties across two server processes (two nodes on one database): a party lives on its creator's
process, and members connected to the other one join, lead, send and receive through the bus; the
party's process dying (kill -9 or a graceful stop) closes the party for the members elsewhere."""

from __future__ import annotations

import asyncio
import base64
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp

from nakama_py.cluster.membership import EXPIRY_SEC
from nakama_py.core.parties import SWEEP_INTERVAL_SEC
from tests.support.server import ServerProcess, start_server
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user_in


async def connect(http: aiohttp.ClientSession, server: ServerProcess, user: TestUser) -> JsonSocket:
    return JsonSocket(await http.ws_connect(f"{server.url}/ws?token={user.token}"))


def of(user: TestUser, presences: list[dict[str, Any]]) -> dict[str, Any]:
    return next(p for p in presences if p["user_id"] == user.user_id)


async def test_a_party_on_one_process_with_members_on_another(tmp_path: Path, database_url: str) -> None:
    first = start_server(tmp_path / "a", database_url, "--name", "node-a")
    second = start_server(tmp_path / "b", database_url, "--name", "node-b")
    alice, bob, carol = (create_user_in(database_url) for _ in range(3))
    try:
        async with aiohttp.ClientSession() as http:
            leader = await connect(http, first, alice)
            member = await connect(http, second, bob)
            other = await connect(http, second, carol)
            await asyncio.sleep(1)  # each process sees the other's sockets

            created = (await leader.request({"party_create": {"open": False, "max_size": 3}}))["party"]
            party_id = created["party_id"]
            assert ".node-a-" in party_id  # the creator's process holds it

            # Listed from B: a listing asks every process.
            async with http.get(f"{second.url}/v2/party", headers=bob.auth) as response:
                assert [p["party_id"] for p in (await response.json())["parties"]] == [party_id]

            # A closed party: Bob on B asks, the leader on A hears and accepts (A puts B's session on the stream).
            assert await member.request({"party_join": {"party_id": party_id}}) == {}
            request = await leader.pushed_with("party_join_request")
            assert request["presences"][0]["user_id"] == bob.user_id
            assert await leader.request({"party_accept": {"party_id": party_id,
                                                          "presence": request["presences"][0]}}) == {}
            joined = await member.pushed_with("party")
            assert joined["leader"]["user_id"] == alice.user_id
            assert {p["user_id"] for p in joined["presences"]} == {alice.user_id, bob.user_id}
            event = await leader.pushed_with("party_presence_event")
            while not event.get("joins") or event["joins"][0]["user_id"] != bob.user_id:
                event = await leader.pushed_with("party_presence_event")

            # Errors of the party's process come back to a socket of the other one.
            assert (await other.request({"party_data_send": {"party_id": party_id, "op_code": 1}}))["error"] == {
                "code": 3, "message": "Error sending party data: party member not found"}
            assert (await member.request({"party_close": {"party_id": party_id}}))["error"] == {
                "code": 3, "message": "Error closing party: party leader only"}

            # Data from B reaches A; the lead moves to B and B's leader accepts Carol, also on B.
            payload = base64.b64encode(b"ready").decode()
            assert await member.request({"party_data_send": {"party_id": party_id, "op_code": 2,
                                                             "data": payload}}) == {}
            data = await leader.pushed_with("party_data")
            assert base64.b64decode(data["data"]) == b"ready" and data["presence"]["user_id"] == bob.user_id
            assert await leader.request({"party_promote": {"party_id": party_id,
                                                           "presence": of(bob, joined["presences"])}}) == {}
            for socket in (leader, member):
                assert (await socket.pushed_with("party_leader"))["presence"]["user_id"] == bob.user_id
            assert await other.request({"party_join": {"party_id": party_id}}) == {}
            request = await member.pushed_with("party_join_request")
            assert await member.request({"party_accept": {"party_id": party_id,
                                                          "presence": request["presences"][0]}}) == {}
            carols = await other.pushed_with("party")
            assert {p["user_id"] for p in carols["presences"]} == {alice.user_id, bob.user_id, carol.user_id}

            # The leader on B removes Carol (on B): she is told, the others see her leave.
            assert await member.request({"party_remove": {"party_id": party_id,
                                                          "presence": of(carol, carols["presences"])}}) == {}
            assert (await other.pushed_with("party_close"))["party_id"] == party_id
            event = await leader.pushed_with("party_presence_event")
            while not event.get("leaves"):
                event = await leader.pushed_with("party_presence_event")
            assert event["leaves"][0]["user_id"] == carol.user_id

            # kill -9 of A, the party's process: Bob on B is told the party closed, within the bound.
            killed_at = time.monotonic()
            first.stop(signal.SIGKILL)
            closed = await member.pushed_with("party_close", timeout=EXPIRY_SEC + 2 * SWEEP_INTERVAL_SEC + 5)
            assert closed["party_id"] == party_id
            assert time.monotonic() - killed_at < EXPIRY_SEC + 2 * SWEEP_INTERVAL_SEC + 5
            assert (await member.request({"party_data_send": {"party_id": party_id, "op_code": 1}}))["error"] == {
                "code": 3, "message": "Error sending party data: party not found"}
            await member.ws.close()
            await other.ws.close()
    finally:
        second.stop()
        first.stop()


async def test_an_open_party_ends_with_its_process_stopping(tmp_path: Path, database_url: str) -> None:
    first = start_server(tmp_path / "a", database_url, "--name", "node-a")
    second = start_server(tmp_path / "b", database_url, "--name", "node-b")
    alice, bob = create_user_in(database_url), create_user_in(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            leader = await connect(http, first, alice)
            member = await connect(http, second, bob)
            await asyncio.sleep(1)
            party_id = (await leader.request({"party_create": {"open": True, "max_size": 2}}))["party"]["party_id"]
            assert await member.request({"party_join": {"party_id": party_id}}) == {}
            joined = await member.pushed_with("party")
            assert {p["user_id"] for p in joined["presences"]} == {alice.user_id, bob.user_id}
            event = await member.pushed_with("party_presence_event")
            assert event["joins"][0]["user_id"] == bob.user_id  # members hear their own join

            # A graceful stop of A closes its parties for members elsewhere before its sockets go (so the
            # lead is never handed to Bob on the way down).
            stopped_at = time.monotonic()
            first.process.send_signal(signal.SIGTERM)
            assert (await member.pushed_with("party_close", timeout=10))["party_id"] == party_id
            assert not [message for message in member.pushed if "party_leader" in message]
            assert time.monotonic() - stopped_at < SWEEP_INTERVAL_SEC + 3
            assert first.process.wait(20) == 0
            await member.ws.close()
    finally:
        second.stop()
        first.stop()
