"""Matches across two server processes (two nodes on one database, the PostgreSQL or the NATS bus
between them): an authoritative match lives on the process that created it; players on the other
process join it, send to it, receive from it, see it listed and signal it; a relayed match spans
both; killing the host process ends its match for the players elsewhere with a presence event, and
its listing goes. Shutdown runs match_terminate with the grace period before the sockets close."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from nakama_py.cluster.membership import EXPIRY_SEC
from nakama_py.core.matches.registry import SWEEP_INTERVAL_SEC
from tests.support.server import ServerProcess, start_server
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user_in

MODULES = Path(__file__).parent / "match_modules"
PASSWORD = {"password": "open sesame"}
JOINED, ECHO = 1, 3


async def connect(http: aiohttp.ClientSession, server: ServerProcess, user: TestUser) -> JsonSocket:
    return JsonSocket(await http.ws_connect(f"{server.url}/ws?token={user.token}"))


async def rpc(socket: JsonSocket, rpc_id: str, payload: dict[str, Any]) -> str:
    reply = await socket.request({"rpc": {"id": rpc_id, "payload": json.dumps(payload)}}, timeout=15)
    assert "rpc" in reply, reply
    return str(reply["rpc"].get("payload", ""))


async def data_with(socket: JsonSocket, op_code: int, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        data = await socket.pushed_with("match_data", max(0.05, deadline - time.monotonic()))
        if int(data.get("op_code", 0)) == op_code:
            return base64.b64decode(data.get("data", "")).decode()


async def listed(http: aiohttp.ClientSession, server: ServerProcess, user: TestUser, **params: str) -> list[str]:
    async with http.get(f"{server.url}/v2/match", params=params,
                        headers={"Authorization": f"Bearer {user.token}"}) as response:
        body = await response.json()
    return [m["match_id"] for m in body.get("matches", [])]


@pytest.mark.parametrize("bus", ["postgresql", "nats"])
async def test_matches_across_processes(tmp_path: Path, database_url: str, bus: str) -> None:
    # The machine's NATS (shared/services.md), under a prefix of this test's own.
    nats = ("--cluster.nats_url", "nats://127.0.0.1:4222", "--cluster.nats_prefix", f"mt{secrets.token_hex(4)}")
    args = ("--runtime.path", str(MODULES), *(nats if bus == "nats" else ()))
    host = start_server(tmp_path / "a", database_url, *args, "--name", "node-a")
    other = start_server(tmp_path / "b", database_url, *args, "--name", "node-b")
    alice, bob = create_user_in(database_url), create_user_in(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            on_a, on_b = await connect(http, host, alice), await connect(http, other, bob)
            await asyncio.sleep(1)  # both processes see each other on the bus
            match_id = await rpc(on_a, "match_create", {"handler": "contract",
                                                        "params": {"label": '{"mode": "duel"}'}})
            assert ".node-a-" in match_id  # hosted by process A

            # Listed on B at once, with a label query (the cluster-wide index).
            deadline = time.monotonic() + 2
            while match_id not in await listed(http, other, bob, query="+label.mode:duel"):
                assert time.monotonic() < deadline, "B's listing never saw A's match"
                await asyncio.sleep(0.05)

            # Bob (on B) joins A's match: the join attempt crosses the bus, and a refusal comes back.
            refused = await on_b.request({"match_join": {"match_id": match_id}}, timeout=15)
            assert refused["error"] == {"code": 5, "message": "wrong password"}
            joined = (await on_b.request({"match_join": {"match_id": match_id, "metadata": PASSWORD}},
                                         timeout=15))["match"]
            assert joined["authoritative"] is True and joined["label"] == '{"mode": "duel"}'
            assert (await data_with(on_b, JOINED)).startswith(bob.user_id)  # match_join's broadcast, from A
            await on_a.request({"match_join": {"match_id": match_id, "metadata": PASSWORD}})
            assert (await data_with(on_b, JOINED)).startswith(alice.user_id)

            # Bob's data reaches the loop on A; its answer reaches Bob on B.
            await on_b.ws.send_json({"match_data_send": {"match_id": match_id, "op_code": "5",
                                                         "data": base64.b64encode(b"lap 1").decode()}})
            assert await data_with(on_b, ECHO) == "lap 1"
            # A signal from B's runtime reaches the match on A.
            assert (await rpc(on_b, "match_signal", {"match_id": match_id, "data": "hi"})).startswith("hi tick=")
            sizes = await listed(http, other, bob, authoritative="true", min_size="2")
            assert match_id in sizes
            # A label update on A reaches B's listing within match.label_update_interval_ms (1 s).
            await on_b.ws.send_json({"match_data_send": {"match_id": match_id, "op_code": "97",
                                                         "data": base64.b64encode(b'{"mode": "final"}').decode()}})
            deadline = time.monotonic() + 3
            while match_id not in await listed(http, other, bob, query="+label.mode:final"):
                assert time.monotonic() < deadline, "B's listing never saw the new label"
                await asyncio.sleep(0.1)

            # A relayed match spans both processes.
            relayed = (await on_a.request({"match_create": {}}))["match"]["match_id"]
            # B knows the match once Alice's presence in it has reached B's tracker (milliseconds, over the
            # bus): a join before that is "Match not found", as for any match B has not heard of.
            deadline = time.monotonic() + 3
            while "match" not in (joined := await on_b.request({"match_join": {"match_id": relayed}})):
                assert joined["error"]["message"] == "Match not found", joined
                assert time.monotonic() < deadline, "B never heard of A's relayed match"
                await asyncio.sleep(0.05)
            while True:  # A relays to the members it knows: wait until Bob's join has reached A
                event = await on_a.pushed_with("match_presence_event")
                if event["match_id"] == relayed and bob.user_id in [p["user_id"] for p in event.get("joins", [])]:
                    break
            await on_a.ws.send_json({"match_data_send": {"match_id": relayed, "op_code": "9",
                                                         "data": base64.b64encode(b"relay").decode()}})
            assert await data_with(on_b, 9) == "relay"

            # Killing the host ends its match for Bob: a presence event with everyone leaving.
            killed_at = time.monotonic()
            host.stop(signal.SIGKILL)
            bound = EXPIRY_SEC + SWEEP_INTERVAL_SEC + 3
            while True:
                event = await on_b.pushed_with("match_presence_event", bound)
                if event["match_id"] == match_id and bob.user_id in [p["user_id"] for p in event.get("leaves", [])]:
                    break
            assert time.monotonic() - killed_at < bound
            deadline = time.monotonic() + 5
            while match_id in await listed(http, other, bob):
                assert time.monotonic() < deadline, "the dead process's match is still listed"
                await asyncio.sleep(0.2)
            gone = await on_b.request({"match_join": {"match_id": match_id, "metadata": PASSWORD}})
            assert gone["error"]["code"] == 4
            await on_b.ws.close()
    finally:
        other.stop()
        host.stop()


async def test_shutdown_terminates_matches_with_the_grace_period(tmp_path: Path, database_url: str) -> None:
    server = start_server(tmp_path, database_url, "--runtime.path", str(MODULES), "--shutdown_grace_sec", "2")
    user = create_user_in(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            socket = await connect(http, server, user)
            match_id = await rpc(socket, "match_create", {"handler": "contract", "params": {"linger": True}})
            await socket.request({"match_join": {"match_id": match_id, "metadata": PASSWORD}})
            await data_with(socket, JOINED)
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            # match_terminate runs first, with the grace seconds, while the player is still connected.
            assert await data_with(socket, 5) == "2"
            message = await socket.ws.receive(15)
            while message.type == aiohttp.WSMsgType.TEXT:
                message = await socket.ws.receive(15)
            assert message.type == aiohttp.WSMsgType.CLOSE and message.data == aiohttp.WSCloseCode.GOING_AWAY
            assert time.monotonic() - started >= 2.0  # the lingering match held the sockets for its grace
        assert server.process.wait(30) == 0
        assert time.monotonic() - started < 15
    finally:
        server.stop()
