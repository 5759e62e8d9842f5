"""``GET /ws``: Nakama's auth refusals, JSON and protobuf envelopes, RPC, ping, errors and closes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.state import ServerState, build_state
from tests.support.modules import state_with_module
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

ConfigFactory = Callable[..., Config]
Client = TestClient[web.Request, web.Application]

MODULE = """
    import json
    from nakama_py.runtime import NakamaError

    async def echo(ctx, logger, nk, payload):
        return payload

    async def who(ctx, logger, nk, payload):
        return json.dumps({"user_id": ctx.user_id, "session_id": ctx.session_id, "lang": ctx.lang})

    async def fail(ctx, logger, nk, payload):
        raise NakamaError("no such race", 5)

    async def notify(ctx, logger, nk, payload):
        body = json.loads(payload)
        await nk.notification_send(body["user_id"], "reward", {"coins": 5}, 7, persistent=body["persistent"])

    def init_module(ctx, logger, nk, initializer):
        initializer.register_rpc("echo", echo)
        initializer.register_rpc("who", who)
        initializer.register_rpc("fail", fail)
        initializer.register_rpc("notify", notify)
"""


@pytest.fixture
async def rt_state(make_config: ConfigFactory, database_url: str, tmp_path: Path) -> AsyncIterator[ServerState]:
    async with state_with_module(make_config, database_url, tmp_path / "modules", "socket_module.py", MODULE,
                                 "--socket.outgoing_queue_size", "8") as state:
        yield state


@pytest.fixture
async def rt_client(rt_state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(rt_state)))  # type: ignore[no-any-return]


@pytest.fixture
async def player(rt_state: ServerState) -> TestUser:
    return await create_user(rt_state)


async def receive_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5) -> dict[str, Any]:
    message = await ws.receive(timeout)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    result: dict[str, Any] = json.loads(message.data)
    return result


async def test_refusals_before_upgrade(rt_client: Client, player: TestUser, rt_state: ServerState) -> None:
    for query in ("", "?token=", "?token=garbage", f"?token={player.token}x"):
        response = await rt_client.get("/ws" + query)
        assert response.status == 401
        assert await response.text() == "Missing or invalid token\n"
    response = await rt_client.get(f"/ws?token={player.token}&format=xml")
    assert response.status == 400
    assert await response.text() == "Invalid format parameter\n"
    # A revoked session (logout of all sessions) is refused like a bad one.
    await rt_state.sessions.revoke_user(player.user_id)
    await asyncio.sleep(0.05)
    response = await rt_client.get(f"/ws?token={player.token}")
    assert response.status == 401


async def test_json_rpc_ping_and_errors(rt_client: Client, player: TestUser) -> None:
    async with rt_client.ws_connect(f"/ws?token={player.token}&lang=fr") as ws:
        await ws.send_str(json.dumps({"cid": "1", "rpc": {"id": "Echo", "payload": '{"a":1}'}}))
        assert await receive_json(ws) == {"cid": "1", "rpc": {"id": "Echo", "payload": '{"a":1}'}}
        await ws.send_str(json.dumps({"cid": "2", "rpc": {"id": "who"}}))
        who = json.loads((await receive_json(ws))["rpc"]["payload"])
        assert who["user_id"] == player.user_id and who["lang"] == "fr" and len(who["session_id"]) == 36
        await ws.send_str(json.dumps({"cid": "3", "ping": {}}))
        assert await receive_json(ws) == {"cid": "3", "pong": {}}
        await ws.send_str(json.dumps({"cid": "4", "rpc": {"id": "missing"}}))
        assert await receive_json(ws) == {"cid": "4", "error": {"code": 6, "message": "RPC function not found"}}
        await ws.send_str(json.dumps({"cid": "5", "rpc": {"id": "fail"}}))
        assert await receive_json(ws) == {"cid": "5", "error": {"code": 7, "message": "no such race"}}
        await ws.send_str(json.dumps({"cid": "6", "rpc": {}}))
        assert await receive_json(ws) == {"cid": "6", "error": {"code": 3, "message": "RPC ID must be set"}}
        # Handler errors keep the socket open.
        await ws.send_str(json.dumps({"cid": "7", "ping": {}}))
        assert await receive_json(ws) == {"cid": "7", "pong": {}}


async def test_protobuf_format(rt_client: Client, player: TestUser) -> None:
    async with rt_client.ws_connect(f"/ws?token={player.token}&format=protobuf") as ws:
        request = Envelope(cid="9")
        request.rpc.id = "echo"
        request.rpc.payload = "hello"
        await ws.send_bytes(request.SerializeToString())
        message = await ws.receive(5)
        assert message.type == aiohttp.WSMsgType.BINARY
        reply = Envelope.FromString(message.data)
        assert reply.cid == "9" and reply.rpc.payload == "hello"
        # A text frame on a protobuf socket is a protocol violation: the socket closes.
        await ws.send_str("{}")
        message = await ws.receive(5)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


@pytest.mark.parametrize("frame, error", [
    ('{"cid":"1"}', {"cid": "1", "error": {"code": 2, "message": "Missing message."}}),
    # A message only the server sends (Nakama's pipeline has no handler for it).
    ('{"cid":"1","match_data":{}}', {"cid": "1", "error": {"code": 1, "message": "Unrecognized message."}}),
    ('{"cid":"1","no_such_field":{}}', None),
    ("not json", None),
])
async def test_bad_envelopes_close_the_socket(rt_client: Client, player: TestUser, frame: str,
                                              error: dict[str, Any] | None) -> None:
    async with rt_client.ws_connect(f"/ws?token={player.token}") as ws:
        await ws.send_str(frame)
        if error is not None:
            assert await receive_json(ws) == error
        message = await ws.receive(5)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_oversized_frame_closes_with_1009(rt_client: Client, player: TestUser) -> None:
    async with rt_client.ws_connect(f"/ws?token={player.token}") as ws:
        await ws.send_str(json.dumps({"rpc": {"id": "echo", "payload": "x" * 5000}}))
        message = await ws.receive(5)
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert message.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_notifications_reach_every_socket_of_the_user(rt_client: Client, player: TestUser,
                                                            rt_state: ServerState) -> None:
    other = await create_user(rt_state)
    async with rt_client.ws_connect(f"/ws?token={player.token}") as first, \
            rt_client.ws_connect(f"/ws?token={player.token}&format=protobuf") as second, \
            rt_client.ws_connect(f"/ws?token={other.token}") as bystander:
        await bystander.send_str(json.dumps(
            {"cid": "1", "rpc": {"id": "notify", "payload": json.dumps({"user_id": player.user_id,
                                                                        "persistent": False})}}))
        assert (await receive_json(bystander))["cid"] == "1"
        envelope = await receive_json(first)
        [note] = envelope["notifications"]["notifications"]
        assert note["subject"] == "reward" and note["code"] == 7 and json.loads(note["content"]) == {"coins": 5}
        assert "persistent" not in note and note["create_time"].endswith("Z")
        binary = await second.receive(5)
        assert Envelope.FromString(binary.data).notifications.notifications[0].id == note["id"]
        with pytest.raises(asyncio.TimeoutError):
            await bystander.receive(0.3)


async def test_single_socket_closes_the_older_socket(make_config: ConfigFactory, database_url: str,
                                                     aiohttp_client: Callable[..., Any]) -> None:
    state = await build_state(make_config("--session.single_socket", "true"), database_url)
    try:
        client: Client = await aiohttp_client(WireTestServer(build_app(state)))
        user = await create_user(state)
        async with client.ws_connect(f"/ws?token={user.token}") as old, \
                client.ws_connect(f"/ws?token={user.token}") as new:
            # Nakama's notice first (code -7, not stored), then the close.
            [notice] = (await receive_json(old))["notifications"]["notifications"]
            assert (notice["subject"], notice["code"], notice["content"]) == ("single_socket", -7, "{}")
            assert "persistent" not in notice and "sender_id" not in notice
            message = await old.receive(5)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            await new.send_str(json.dumps({"cid": "1", "ping": {}}))
            assert await receive_json(new) == {"cid": "1", "pong": {}}
    finally:
        await state.close()


async def test_missing_pongs_close_the_socket(make_config: ConfigFactory, database_url: str,
                                              aiohttp_client: Callable[..., Any]) -> None:
    state = await build_state(make_config("--socket.ping_period_ms", "100", "--socket.pong_wait_ms", "300"),
                              database_url)
    try:
        client: Client = await aiohttp_client(WireTestServer(build_app(state)))
        user = await create_user(state)
        # autoping off: this client never answers the server's pings.
        async with client.ws_connect(f"/ws?token={user.token}", autoping=False) as ws:
            pings = 0
            while True:
                message = await ws.receive(5)
                if message.type == aiohttp.WSMsgType.PING:
                    pings += 1
                    continue
                assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                break
            assert pings >= 1
        # A client that answers (aiohttp's client does so while it reads) stays connected past the pong wait.
        async with client.ws_connect(f"/ws?token={user.token}") as ws:
            for cid in range(8):
                await ws.send_str(json.dumps({"cid": str(cid), "ping": {}}))
                assert await receive_json(ws) == {"cid": str(cid), "pong": {}}
                await asyncio.sleep(0.1)
    finally:
        await state.close()


async def test_slow_reader_is_disconnected_not_buffered(rt_client: Client, player: TestUser,
                                                        rt_state: ServerState) -> None:
    """Outgoing queue of 8: a burst faster than the socket can write closes it instead of buffering."""
    async with rt_client.ws_connect(f"/ws?token={player.token}"):
        await asyncio.sleep(0.1)
        [session] = rt_state.realtime.registry.of_user(player.user_id)
        big = "y" * 3000
        for _ in range(200):
            if session.closing:
                break
            envelope = Envelope()
            envelope.rpc.payload = big
            session.send(envelope)
        assert session.closing
        assert session.close_reason == "session outgoing queue full"
        for _ in range(100):
            if not rt_state.realtime.registry.of_user(player.user_id):
                break
            await asyncio.sleep(0.05)
        assert rt_state.realtime.registry.of_user(player.user_id) == []


async def test_a_flood_is_answered_with_errors_and_the_socket_kept(make_config: ConfigFactory, database_url: str,
                                                                   aiohttp_client: Callable[..., Any]) -> None:
    state = await build_state(make_config("--socket.message_rate_per_sec", "5", "--socket.message_burst", "10"),
                              database_url)
    try:
        client: Client = await aiohttp_client(WireTestServer(build_app(state)))
        user, other = await create_user(state), await create_user(state)
        async with client.ws_connect(f"/ws?token={user.token}") as ws, \
                client.ws_connect(f"/ws?token={other.token}") as bystander:
            for cid in range(30):
                await ws.send_str(json.dumps({"cid": str(cid), "ping": {}}))
            replies = [await receive_json(ws) for _ in range(30)]
            pongs = [r for r in replies if "pong" in r]
            limited = [r for r in replies if "error" in r]
            assert 10 <= len(pongs) <= 12 and len(pongs) + len(limited) == 30
            assert limited[0]["error"] == {"message": "Too many messages: slow down"}  # code 0 is left out
            # The limit is this socket's own; it recovers as the bucket refills.
            await bystander.send_str(json.dumps({"cid": "b", "ping": {}}))
            assert await receive_json(bystander) == {"cid": "b", "pong": {}}
            await asyncio.sleep(0.5)
            await ws.send_str(json.dumps({"cid": "later", "ping": {}}))
            assert await receive_json(ws) == {"cid": "later", "pong": {}}
    finally:
        await state.close()
