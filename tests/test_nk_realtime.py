"""The runtime's chat, send-to-all, ban and session functions, as the sockets of Nakama clients see them:
the same rules (and stored rows) as the socket's own messages, the console's ban and the API's logout."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.errors import NakamaError
from nakama_py.runtime import NakamaModule
from nakama_py.state import ServerState
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

Client = TestClient[web.Request, web.Application]
SYSTEM = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def nk(state: ServerState) -> NakamaModule:
    assert state.runtime.nk is not None
    return state.runtime.nk


@pytest.fixture
async def client(state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(state)))  # type: ignore[no-any-return]


async def open_socket(client: Client, user: TestUser) -> JsonSocket:
    return JsonSocket(await client.ws_connect(f"/ws?token={user.token}"))


async def closed(socket: JsonSocket, timeout: float = 5) -> bool:
    """Whether the server closes the socket (pushed messages read on the way are kept)."""
    while True:
        message = await socket.ws.receive(timeout)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            return True
        socket.pushed.append(json.loads(message.data))


async def test_chat_from_the_runtime_reaches_members_and_the_history(client: Client, state: ServerState,
                                                                     nk: NakamaModule) -> None:
    alice, bob = await create_user(state), await create_user(state)
    a, b = await open_socket(client, alice), await open_socket(client, bob)
    for socket in (a, b):
        await socket.request({"channel_join": {"target": "nk-lobby", "type": 1, "persistence": True}})
    channel = await nk.channel_id_build(None, "nk-lobby", 1)
    assert channel == "2...nk-lobby"

    sent = await nk.channel_message_send(channel, {"text": "welcome"})  # the system speaks
    assert (sent.code, sent.sender_id, sent.username, sent.room_name, sent.persistent) == (0, SYSTEM, "", "nk-lobby",
                                                                                          True)
    for socket in (a, b):
        pushed = await socket.pushed_with("channel_message")
        assert pushed["message_id"] == sent.message_id and json.loads(pushed["content"]) == {"text": "welcome"}
        assert pushed["sender_id"] == SYSTEM and pushed["room_name"] == "nk-lobby"

    as_alice = await nk.channel_message_send(channel, {"n": 1}, alice.user_id, alice.username)
    transient = await nk.channel_message_send(channel, {"n": 2}, persist=False)
    assert transient.persistent is False
    # The socket's own message and the runtime's share one history (Nakama's message table).
    own = await a.request({"channel_message_send": {"channel_id": channel, "content": '{"n":3}'}})
    messages, next_cursor, prev_cursor = await nk.channel_messages_list(channel, limit=10)
    assert [m.content for m in messages] == [{"text": "welcome"}, {"n": 1}, {"n": 3}]
    assert messages[1].sender_id == alice.user_id and messages[2].message_id == own["channel_message_ack"]["message_id"]
    assert next_cursor is None and prev_cursor is None
    first, cursor, _ = await nk.channel_messages_list(channel, limit=2, forward=False)
    assert [m.content for m in first] == [{"n": 3}, {"n": 1}] and cursor is not None
    rest, _, back = await nk.channel_messages_list(channel, limit=2, forward=False, cursor=cursor)
    assert [m.content for m in rest] == [{"text": "welcome"}] and back is not None

    updated = await nk.channel_message_update(channel, as_alice.message_id, {"n": 10}, alice.user_id, alice.username)
    assert updated.code == 1 and updated.create_time == as_alice.create_time
    assert json.loads((await _next_code(b, 1))["content"]) == {"n": 10}
    # A persisted update or remove must name the sender of the stored message.
    with pytest.raises(NakamaError, match="Could not find message to update in channel history"):
        await nk.channel_message_update(channel, as_alice.message_id, {"n": 11}, bob.user_id)
    removed = await nk.channel_message_remove(channel, sent.message_id)
    assert removed.code == 2 and removed.create_time == sent.create_time
    assert (await _next_code(a, 2))["message_id"] == sent.message_id
    with pytest.raises(NakamaError, match="Could not find message to remove in channel history"):
        await nk.channel_message_remove(channel, sent.message_id)
    after, _, _ = await nk.channel_messages_list(channel)
    assert [m.content for m in after] == [{"n": 10}, {"n": 3}]

    for call, message in [
        (nk.channel_message_send("nonsense", {}), "Invalid channel identifier"),
        (nk.channel_message_send(channel, {}, sender_id="not-a-uuid"),
         "expects sender id to either be not set, empty string or a valid UUID"),
        (nk.channel_message_update(channel, "x", {}), "Invalid message identifier"),
        (nk.channel_messages_list(channel, limit=0), "limit must be 1-100"),
        (nk.channel_messages_list(channel, cursor="garbage"), "invalid channel cursor"),
    ]:
        with pytest.raises(NakamaError, match=message) as caught:
            await call
        assert caught.value.code == 3


async def _next_code(socket: JsonSocket, code: int) -> dict[str, Any]:
    while True:
        message = await socket.pushed_with("channel_message")
        if message.get("code", 0) == code:
            return message


async def test_channel_ids_follow_the_join_rules(state: ServerState, nk: NakamaModule) -> None:
    alice, bob, carol = await create_user(state), await create_user(state), await create_user(state)
    low, high = sorted((alice.user_id, bob.user_id))
    assert await nk.channel_id_build(alice.user_id, bob.user_id, 2) == f"4.{low}.{high}."
    await nk.friends_block(carol.user_id, carol.username, ids=[alice.user_id])
    with pytest.raises(NakamaError, match="User ID not found: Invalid channel target"):
        await nk.channel_id_build(alice.user_id, carol.user_id, 2)
    group = await nk.group_create(bob.user_id, "nk-chat-" + bob.user_id)
    assert await nk.channel_id_build(None, group.id, 3) == f"3.{group.id}.."  # the system is in every group
    assert await nk.channel_id_build(bob.user_id, group.id, 3) == f"3.{group.id}.."
    with pytest.raises(NakamaError, match="Group not found: Invalid channel target"):
        await nk.channel_id_build(alice.user_id, group.id, 3)
    with pytest.raises(NakamaError, match="Channel name is required and must be 1-64 chars"):
        await nk.channel_id_build(None, "x" * 65, 1)
    with pytest.raises(NakamaError, match="Invalid channel type"):
        await nk.channel_id_build(None, "room", 9)


async def test_notification_send_all(client: Client, state: ServerState, nk: NakamaModule) -> None:
    alice, bob = await create_user(state), await create_user(state)
    a, b = await open_socket(client, alice), await open_socket(client, bob)
    await nk.notification_send_all("maintenance", {"in": 5}, 101)
    for socket in (a, b):
        [note] = (await socket.pushed_with("notifications"))["notifications"]
        assert (note["subject"], json.loads(note["content"]), note["code"]) == ("maintenance", {"in": 5}, 101)
        assert note.get("persistent", False) is False
    assert (await nk.notifications_list(alice.user_id))[0] == []  # not stored

    offline = await create_user(state)
    await nk.notification_send_all("season", {"n": 2}, 102, persistent=True)
    for user in (alice, bob, offline):  # stored for every user, connected or not
        stored, _ = await nk.notifications_list(user.user_id)
        assert [(n.subject, n.content, n.code, n.sender_id) for n in stored] == [("season", {"n": 2}, 102, SYSTEM)]
    [live] = (await a.pushed_with("notifications"))["notifications"]
    assert live["subject"] == "season" and live["persistent"] is True
    with pytest.raises(NakamaError, match="expects subject to be a non-empty string"):
        await nk.notification_send_all("", {}, 1)
    with pytest.raises(NakamaError, match="expects code to number above 0"):
        await nk.notification_send_all("s", {}, 0)


async def test_ban_closes_sockets_and_unban_lets_the_user_back(client: Client, state: ServerState,
                                                               nk: NakamaModule) -> None:
    alice, bob = await create_user(state), await create_user(state)
    a, b = await open_socket(client, alice), await open_socket(client, bob)
    for socket in (a, b):
        await socket.request({"status_update": {}})  # registered and tracked
    await nk.users_ban_id([alice.user_id, "8e3e3b8f-0000-4000-8000-000000000000"])  # unknown ids are ignored
    assert await closed(a)
    [notice] = (await a.pushed_with("notifications", timeout=1))["notifications"]
    assert (notice["subject"], notice["code"]) == ("banned", -8)
    assert (await client.get("/v2/account", headers=alice.auth)).status == 401
    assert (await client.get("/v2/account", headers=bob.auth)).status == 200
    assert await b.nothing_pushed("notifications")
    assert (await nk.account_get_id(alice.user_id)).disable_time is not None
    await nk.users_unban_id([alice.user_id])
    assert (await nk.account_get_id(alice.user_id)).disable_time is None
    with pytest.raises(NakamaError, match="each user id must be a valid id string"):
        await nk.users_ban_id(["nope"])
    with pytest.raises(NakamaError, match="each user id must be a valid id string"):
        await nk.users_unban_id(["nope"])


async def test_session_disconnect_and_logout(client: Client, state: ServerState, nk: NakamaModule) -> None:
    alice, bob = await create_user(state), await create_user(state)
    a, b = await open_socket(client, alice), await open_socket(client, bob)
    await a.request({"status_update": {}})  # the socket is registered and tracked
    [session] = state.realtime.registry.of_user(alice.user_id)
    await nk.session_disconnect(session.id)
    assert await closed(a)
    assert "notifications" not in {key for message in a.pushed for key in message}
    await nk.session_disconnect("4c1d8f3a-0000-4000-8000-000000000000")  # no such socket: nothing happens
    with pytest.raises(NakamaError, match="expects valid session id"):
        await nk.session_disconnect("x")
    assert (await client.get("/v2/account", headers=alice.auth)).status == 200  # the token still works

    second = state.sessions.issue(bob.user_id, bob.username)
    with pytest.raises(NakamaError, match=r"Session token invalid\."):
        await nk.session_logout(alice.user_id, second.token)
    await nk.session_logout(bob.user_id, second.token)  # that token only
    assert (await client.get("/v2/account", headers={"Authorization": f"Bearer {second.token}"})).status == 401
    assert (await client.get("/v2/account", headers=bob.auth)).status == 200
    await nk.session_logout(alice.user_id)  # every token of the user
    assert (await client.get("/v2/account", headers=alice.auth)).status == 401
    with pytest.raises(NakamaError, match="expects valid user id"):
        await nk.session_logout("x")
    await b.request({"status_update": {}})  # bob's socket is untouched
