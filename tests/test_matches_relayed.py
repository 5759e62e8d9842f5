"""Relayed matches on the socket, as Nakama's clients see them: create (by name too), join by id or
matchmaker token, presence events, data to all or to chosen presences, leave, and Nakama's errors."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.core import match_tokens
from nakama_py.state import ServerState, build_state
from tests.conftest import ConfigFactory
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(state)))  # type: ignore[no-any-return]


async def open_socket(client: Client, user: TestUser) -> JsonSocket:
    return JsonSocket(await client.ws_connect(f"/ws?token={user.token}"))


async def presence_event(socket: JsonSocket, kind: str, user: TestUser) -> dict[str, Any]:
    """The next match presence event with ``user`` among its ``joins``/``leaves`` (as in Nakama, a
    joining socket also gets the event of its own join)."""
    while True:
        event = await socket.pushed_with("match_presence_event")
        if user.user_id in [p["user_id"] for p in event.get(kind, [])]:
            return event


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_create_join_data_and_leave(client: Client, state: ServerState) -> None:
    alice, bob, carol = [await create_user(state) for _ in range(3)]
    a, b, c = [await open_socket(client, user) for user in (alice, bob, carol)]
    created = (await a.request({"match_create": {}}))["match"]
    match_id = created["match_id"]
    assert match_id.endswith(".") and uuid.UUID(match_id[:-1])
    assert created["size"] == 1 and "presences" not in created and created["self"]["user_id"] == alice.user_id
    assert "authoritative" not in created

    joined = (await b.request({"match_join": {"match_id": match_id}}))["match"]
    assert joined["size"] == 1 and [p["user_id"] for p in joined["presences"]] == [alice.user_id]
    event = await presence_event(a, "joins", bob)
    assert event["match_id"] == match_id and [p["user_id"] for p in event["joins"]] == [bob.user_id]
    await c.request({"match_join": {"match_id": match_id}})
    await presence_event(a, "joins", carol)
    await presence_event(b, "joins", carol)

    # To everyone but the sender.
    await a.ws.send_json({"match_data_send": {"match_id": match_id, "op_code": "7", "data": b64("hi")}})
    for socket in (b, c):
        data = await socket.pushed_with("match_data")
        assert data["match_id"] == match_id and data["op_code"] == "7" and base64.b64decode(data["data"]) == b"hi"
        assert data["presence"]["user_id"] == alice.user_id
    assert await a.nothing_pushed("match_data")
    # To chosen presences only.
    carol_presence = {"user_id": carol.user_id, "session_id": joined["self"]["session_id"]}
    carol_self = (await c.request({"match_join": {"match_id": match_id}}))["match"]["self"]  # already in: no change
    carol_presence["session_id"] = carol_self["session_id"]
    await a.ws.send_json({"match_data_send": {"match_id": match_id, "op_code": "1", "data": b64("psst"),
                                              "presences": [carol_presence], "reliable": True}})
    data = await c.pushed_with("match_data")
    assert base64.b64decode(data["data"]) == b"psst" and data["reliable"] is True
    assert await b.nothing_pushed("match_data")

    assert await b.request({"match_leave": {"match_id": match_id}}) == {}
    for socket in (a, c):
        event = await presence_event(socket, "leaves", bob)
        assert [p["user_id"] for p in event["leaves"]] == [bob.user_id]
    # A non-member's data is ignored.
    await b.ws.send_json({"match_data_send": {"match_id": match_id, "op_code": "1", "data": b64("x")}})
    assert await a.nothing_pushed("match_data")


async def test_named_match_is_one_match(client: Client, state: ServerState) -> None:
    alice, bob = await create_user(state), await create_user(state)
    a, b = await open_socket(client, alice), await open_socket(client, bob)
    first = (await a.request({"match_create": {"name": "lobby-7"}}))["match"]
    second = (await b.request({"match_create": {"name": "lobby-7"}}))["match"]
    assert first["match_id"] == second["match_id"] == f"{uuid.uuid5(uuid.NAMESPACE_DNS, 'lobby-7')}."
    assert second["size"] == 2 and [p["user_id"] for p in second["presences"]] == [alice.user_id]


async def test_join_errors(client: Client, state: ServerState) -> None:
    socket = await open_socket(client, await create_user(state))
    missing = await socket.request({"match_join": {"match_id": f"{uuid.uuid4()}."}})
    assert missing["error"] == {"code": 4, "message": "Match not found"}
    assert (await socket.request({"match_join": {"match_id": "nope"}}))["error"] == {"code": 3,
                                                                                     "message": "Invalid match ID"}
    assert (await socket.request({"match_join": {}}))["error"]["message"] == "No match ID or token found"
    bad = await socket.request({"match_join": {"token": "garbage"}})
    assert bad["error"] == {"code": 3, "message": "Invalid match token"}
    missing_auth = await socket.request({"match_join": {"match_id": f"{uuid.uuid4()}.{state.bus.process}"}})
    assert missing_auth["error"] == {"code": 4, "message": "Match not found"}
    # The socket stays open after refusals.
    assert "match" in await socket.request({"match_create": {}})


async def test_join_by_matchmaker_token_creates_the_match(client: Client, state: ServerState) -> None:
    alice, bob = await create_user(state), await create_user(state)
    a, b = await open_socket(client, alice), await open_socket(client, bob)
    match_id = f"{uuid.uuid4()}."
    token = match_tokens.issue(match_id, state.config.session.encryption_key, 30)
    first = (await a.request({"match_join": {"token": token}}))["match"]
    assert first["match_id"] == match_id and "size" not in first  # zero: left out, as protojson does
    second = (await b.request({"match_join": {"token": token}}))["match"]
    assert [p["user_id"] for p in second["presences"]] == [alice.user_id]
    expired = match_tokens.issue(match_id, state.config.session.encryption_key, 30, now=0)
    assert (await b.request({"match_join": {"token": expired}}))["error"]["message"] == "Invalid match token"


async def test_listing_relayed_matches(client: Client, state: ServerState) -> None:
    alice, bob = await create_user(state), await create_user(state)
    a, b = await open_socket(client, alice), await open_socket(client, bob)
    one = (await a.request({"match_create": {}}))["match"]["match_id"]
    two = (await b.request({"match_create": {}}))["match"]["match_id"]
    await b.request({"match_join": {"match_id": one}})
    headers = {"Authorization": f"Bearer {alice.token}"}
    listed = await (await client.get("/v2/match", headers=headers)).json()
    sizes = {m["match_id"]: m["size"] for m in listed["matches"]}
    assert sizes == {one: 2, two: 1}
    big = await (await client.get("/v2/match?min_size=2&authoritative=false", headers=headers)).json()
    assert [m["match_id"] for m in big["matches"]] == [one]
    none = await (await client.get("/v2/match?authoritative=true", headers=headers)).json()
    assert none == {"matches": []} or none == {}
    bad = await client.get("/v2/match?authoritative=false&label=x", headers=headers)
    assert bad.status == 400
    assert (await bad.json())["message"] == "Label filtering is not supported for non-authoritative matches."
    limit = await client.get("/v2/match?limit=0", headers=headers)
    assert (await limit.json())["message"] == "Invalid limit - limit must be between 1 and 100."


async def test_single_match_leaves_the_previous_match(make_config: ConfigFactory, database_url: str,
                                                      aiohttp_client: Callable[..., Any]) -> None:
    own = await build_state(make_config("--session.single_socket", "true", "--session.single_match", "true"),
                            database_url)
    try:
        client: Client = await aiohttp_client(WireTestServer(build_app(own)))
        alice, bob = await create_user(own), await create_user(own)
        a, b = await open_socket(client, alice), await open_socket(client, bob)
        first = (await a.request({"match_create": {}}))["match"]["match_id"]
        second = (await b.request({"match_create": {}}))["match"]["match_id"]
        await b.request({"match_join": {"match_id": first}})  # Bob leaves his own match for Alice's
        event = await presence_event(a, "joins", bob)
        assert event["match_id"] == first
        listed = {m.match_id: m.size for m in own.match_listings.list(10)}
        assert listed == {first: 2}  # Bob's first match is gone: he was its only member
        assert second not in listed
    finally:
        await own.close()
