"""Chat channels, status, notification listing and socket hooks, as Nakama clients see them on ``/ws``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.state import ServerState
from tests.support.modules import state_with_module
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

ConfigFactory = Callable[..., Config]
Client = TestClient[web.Request, web.Application]

MODULE = """
    from nakama_py.runtime import NakamaError

    EVENTS = []

    async def before_join(ctx, logger, nk, envelope):
        target = envelope["channel_join"]["target"]
        if target == "forbidden":
            raise NakamaError("no entry", 7)
        envelope["channel_join"]["target"] = target.replace("alias-", "")
        return envelope

    async def after_send(ctx, logger, nk, reply, envelope):
        EVENTS.append(("sent", reply["channel_message_ack"]["message_id"]))

    async def started(ctx, logger, nk, event):
        EVENTS.append((event["name"], ctx.session_id))

    async def ended(ctx, logger, nk, event):
        EVENTS.append((event["name"], ctx.session_id))

    async def events(ctx, logger, nk, payload):
        import json
        return json.dumps(EVENTS)

    def init_module(ctx, logger, nk, initializer):
        initializer.register_rt_before("ChannelJoin", before_join)
        initializer.register_rt_after("ChannelMessageSend", after_send)
        initializer.register_event_session_start(started)
        initializer.register_event_session_end(ended)
        initializer.register_rpc("events", events)
"""


@pytest.fixture
async def rt_state(make_config: ConfigFactory, database_url: str, tmp_path: Path) -> AsyncIterator[ServerState]:
    async with state_with_module(make_config, database_url, tmp_path / "modules", "chat_module.py", MODULE) as state:
        yield state


@pytest.fixture
async def rt_client(rt_state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(rt_state)))  # type: ignore[no-any-return]


async def open_socket(client: Client, user: TestUser, query: str = "") -> JsonSocket:
    return JsonSocket(await client.ws_connect(f"/ws?token={user.token}{query}"))


async def test_room_chat_with_history(rt_client: Client, rt_state: ServerState) -> None:
    alice, bob = await create_user(rt_state), await create_user(rt_state)
    a, b = await open_socket(rt_client, alice), await open_socket(rt_client, bob)
    joined = (await a.request({"channel_join": {"target": "lobby", "type": 1, "persistence": True}}))["channel"]
    assert joined["id"] == "2...lobby" and joined["room_name"] == "lobby"
    assert joined["self"]["user_id"] == alice.user_id and "presences" not in joined
    # The before hook rewrites the target: "alias-lobby" is the same room.
    seen = (await b.request({"channel_join": {"target": "alias-lobby", "type": 1, "persistence": False}}))["channel"]
    assert [p["user_id"] for p in seen["presences"]] == [alice.user_id]
    own = await a.pushed_with("channel_presence_event")  # every member hears each join, its own too
    assert own["channel_id"] == "2...lobby" and own["joins"][0]["user_id"] == alice.user_id
    event = await a.pushed_with("channel_presence_event")
    assert event["joins"][0]["user_id"] == bob.user_id

    ack = (await a.request({"channel_message_send": {"channel_id": "2...lobby",
                                                     "content": '{"text":"hi"}'}}))["channel_message_ack"]
    assert ack["code"] == 0 and ack["persistent"] is True and ack["username"] == alice.username
    for socket in (a, b):
        message = await socket.pushed_with("channel_message")
        assert message["message_id"] == ack["message_id"] and json.loads(message["content"]) == {"text": "hi"}
    update = await a.request({"channel_message_update": {"channel_id": "2...lobby", "message_id": ack["message_id"],
                                                         "content": '{"text":"hello"}'}})
    assert update["channel_message_ack"]["code"] == 1
    assert (await b.pushed_with("channel_message"))["code"] == 1

    # Content rules and membership rules, answered on the socket, which stays open.
    assert await a.request({"channel_message_send": {"channel_id": "2...lobby", "content": "[1]"}}) == {
        "error": {"code": 3, "message": "Message content must be a valid JSON object"}}
    assert await a.request({"channel_message_send": {"channel_id": "2...other", "content": "{}"}}) == {
        "error": {"code": 3, "message": "Must join channel before sending messages"}}
    assert await a.request({"channel_message_send": {"channel_id": "nonsense", "content": "{}"}}) == {
        "error": {"code": 3, "message": "Invalid channel identifier"}}
    assert await a.request({"channel_join": {"target": "forbidden", "type": 1}}) == {
        "error": {"code": 7, "message": "no entry"}}

    # History: newest first by default; a message sent without persistence is not stored.
    await b.request({"channel_message_send": {"channel_id": "2...lobby", "content": '{"n":2}'}})
    response = await rt_client.get("/v2/channel/2...lobby?limit=10", headers=alice.auth)
    history = await response.json()
    assert response.status == 200
    assert [json.loads(m["content"]) for m in history["messages"]] == [{"text": "hello"}]
    assert history["messages"][0]["persistent"] is True and history["cacheable_cursor"]
    events = json.loads((await a.request({"rpc": {"id": "events"}}))["rpc"]["payload"])
    assert ["sent", ack["message_id"]] in events and events[0][0] == "session_start"

    await b.request({"channel_leave": {"channel_id": "2...lobby"}})
    left = await a.pushed_with("channel_presence_event")
    assert left["leaves"][0]["user_id"] == bob.user_id


async def test_history_pages_and_cursors(rt_client: Client, rt_state: ServerState) -> None:
    alice = await create_user(rt_state)
    a = await open_socket(rt_client, alice)
    await a.request({"channel_join": {"target": "pages", "type": 1, "persistence": True}})
    for n in range(5):
        await a.request({"channel_message_send": {"channel_id": "2...pages", "content": json.dumps({"n": n})}})

    async def page(query: str) -> dict[str, Any]:
        response = await rt_client.get(f"/v2/channel/2...pages?{query}", headers=alice.auth)
        assert response.status == 200, await response.text()
        return await response.json()  # type: ignore[no-any-return]

    first = await page("limit=2&forward=true")
    assert [json.loads(m["content"])["n"] for m in first["messages"]] == [0, 1]
    second = await page(f"limit=2&forward=true&cursor={first['next_cursor']}")
    assert [json.loads(m["content"])["n"] for m in second["messages"]] == [2, 3]
    back = await page(f"limit=2&forward=true&cursor={second['prev_cursor']}")
    assert [json.loads(m["content"])["n"] for m in back["messages"]] == [0, 1]
    newest = await page("limit=2")
    assert [json.loads(m["content"])["n"] for m in newest["messages"]] == [4, 3]
    # The cacheable cursor later lists only what arrived since.
    await a.request({"channel_message_send": {"channel_id": "2...pages", "content": '{"n":5}'}})
    since = await page(f"limit=10&forward=true&cursor={second['cacheable_cursor']}")
    assert [json.loads(m["content"])["n"] for m in since["messages"]] == [4, 5]
    response = await rt_client.get("/v2/channel/2...pages?limit=0", headers=alice.auth)
    assert response.status == 400
    assert (await response.json())["message"] == "Invalid limit - limit must be between 1 and 100."


async def test_direct_messages_need_an_existing_user(rt_client: Client, rt_state: ServerState) -> None:
    alice, bob = await create_user(rt_state), await create_user(rt_state)
    a, b = await open_socket(rt_client, alice), await open_socket(rt_client, bob)
    missing = "11111111-2222-3333-4444-555555555555"
    assert await a.request({"channel_join": {"target": missing, "type": 2}}) == {
        "error": {"code": 3, "message": "User ID not found: Invalid channel target"}}
    joined = (await a.request({"channel_join": {"target": bob.user_id, "type": 2}}))["channel"]
    low, high = sorted([alice.user_id, bob.user_id])
    assert joined["id"] == f"4.{low}.{high}." and joined["user_id_one"] == low
    # Bob is not in the conversation yet: he gets Nakama's DM request notification (code -1).
    [note] = (await b.pushed_with("notifications"))["notifications"]
    assert note["code"] == -1 and note["subject"] == f"{alice.username} wants to chat"
    # Group channels wait for the groups feature: every group is "not found" until then.
    assert (await a.request({"channel_join": {"target": missing, "type": 3}}))["error"]["code"] == 3
    # A stranger cannot read the conversation.
    carol = await create_user(rt_state)
    response = await rt_client.get(f"/v2/channel/4.{low}.{high}.", headers=carol.auth)
    assert response.status == 400


async def test_status_follow_update_unfollow(rt_client: Client, rt_state: ServerState) -> None:
    alice, bob = await create_user(rt_state), await create_user(rt_state)
    a = await open_socket(rt_client, alice)
    followed = await a.request({"status_follow": {"user_ids": [bob.user_id], "usernames": [alice.username]}})
    assert followed == {"status": {}}  # Bob is offline; following oneself is ignored
    b = await open_socket(rt_client, bob, "&status=true")
    online = await a.pushed_with("status_presence_event")
    assert online["joins"][0]["user_id"] == bob.user_id and online["joins"][0]["status"] == ""
    assert await b.request({"status_update": {"status": "racing"}}) == {}
    update = await a.pushed_with("status_presence_event")
    assert update["joins"][0]["status"] == "racing" and update["leaves"][0]["status"] == ""
    # A new follow answers with the followed user's current presence.
    again = await a.request({"status_follow": {"usernames": [bob.username]}})
    assert again["status"]["presences"][0]["status"] == "racing"
    assert await a.request({"status_follow": {"user_ids": ["nope"]}}) == {
        "error": {"code": 3, "message": "Invalid user identifier"}}
    assert await a.request({"status_update": {"status": "x" * 2049}}) == {
        "error": {"code": 3, "message": "Status must be 2048 characters or less"}}
    assert await a.request({"status_unfollow": {"user_ids": [bob.user_id]}}) == {}
    await b.request({"status_update": {"status": "idle"}})
    assert await a.nothing_pushed("status_presence_event")


async def test_notification_list_and_delete(rt_client: Client, rt_state: ServerState) -> None:
    from nakama_py.core.notifications import NotificationSend

    alice = await create_user(rt_state)
    await rt_state.notifications.send([NotificationSend(alice.user_id, f"n{i}", {"i": i}, 5) for i in range(3)])
    response = await rt_client.get("/v2/notification?limit=2", headers=alice.auth)
    page = await response.json()
    first = [n["subject"] for n in page["notifications"]]
    assert len(first) == 2  # sent together: one create time, then id order
    assert "sender_id" not in page["notifications"][0] and page["notifications"][0]["persistent"] is True
    response = await rt_client.get(f"/v2/notification?limit=2&cacheable_cursor={page['cacheable_cursor']}",
                                   headers=alice.auth)
    rest = await response.json()
    [last] = [n["subject"] for n in rest["notifications"]]
    assert sorted([*first, last]) == ["n0", "n1", "n2"]
    ids = "&".join(f"ids={n['id']}" for n in page["notifications"])
    response = await rt_client.delete(f"/v2/notification?{ids}", headers=alice.auth)
    assert response.status == 200 and await response.json() == {}
    response = await rt_client.get("/v2/notification?limit=100", headers=alice.auth)
    assert [n["subject"] for n in (await response.json())["notifications"]] == [last]
    response = await rt_client.get("/v2/notification?limit=101", headers=alice.auth)
    assert response.status == 400


async def test_a_socket_sees_its_own_users_other_sockets_come_online(rt_client: Client, rt_state: ServerState) -> None:
    alice = await create_user(rt_state)
    first = await open_socket(rt_client, alice)
    await open_socket(rt_client, alice, "&status=true")
    event = await first.pushed_with("status_presence_event")
    assert event["joins"][0]["user_id"] == alice.user_id
