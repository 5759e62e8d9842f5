"""Two server processes (two nodes: each its own ``--name``) on one database: what is sent on one
reaches sockets on the other (through the cluster bus), and the presences of a killed process
disappear from the other within the bound."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp

from nakama_py.cluster.membership import EXPIRY_SEC
from nakama_py.core.tracker import SWEEP_INTERVAL_SEC
from tests.support.modules import write_module
from tests.support.server import ServerProcess, start_server
from tests.support.users import TestUser, create_user_in

MODULE = """
    import json

    ROOM = {"mode": 30, "label": "lobby"}

    async def notify(ctx, logger, nk, payload):
        await nk.notification_send(json.loads(payload)["user_id"], "hello", {"from": ctx.node}, 9)

    async def join_room(ctx, logger, nk, payload):
        await nk.stream_user_join(ctx.user_id, ctx.session_id, ROOM)

    async def shout(ctx, logger, nk, payload):
        await nk.stream_send(ROOM, payload)

    async def room_count(ctx, logger, nk, payload):
        return json.dumps({"count": nk.stream_count(ROOM)})

    def init_module(ctx, logger, nk, initializer):
        for name, fn in [("notify", notify), ("join_room", join_room), ("shout", shout), ("room_count", room_count)]:
            initializer.register_rpc(name, fn)
"""


class Socket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.cid = 0
        self.pending: list[dict[str, Any]] = []  # pushed messages read while waiting for a reply

    async def call(self, rpc_id: str, payload: Any = "") -> Any:
        self.cid += 1
        cid = str(self.cid)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        await self.ws.send_str(json.dumps({"cid": cid, "rpc": {"id": rpc_id, "payload": text}}))
        while True:
            message = await self.next()
            if message.get("cid") != cid:
                self.pending.append(message)
            else:
                assert "rpc" in message, message
                reply = message["rpc"].get("payload", "")
                return json.loads(reply) if reply else None

    async def next(self, timeout: float = 10) -> dict[str, Any]:
        message = await self.ws.receive(timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        result: dict[str, Any] = json.loads(message.data)
        return result

    async def next_with(self, key: str, timeout: float = 10) -> dict[str, Any]:
        for index, message in enumerate(self.pending):
            if key in message:
                return self.pending.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            message = await self.next(max(0.1, deadline - time.monotonic()))
            if key in message:
                return message


async def connect(session: aiohttp.ClientSession, server: ServerProcess, user: TestUser) -> Socket:
    ws = await session.ws_connect(f"{server.url}/ws?token={user.token}")
    return Socket(ws)


async def test_delivery_and_presence_across_processes(tmp_path: Path, database_url: str) -> None:
    write_module(tmp_path / "modules", "relay.py", MODULE)
    args = ("--runtime.path", str(tmp_path / "modules"))
    first = start_server(tmp_path / "a", database_url, *args, "--name", "node-a")
    second = start_server(tmp_path / "b", database_url, *args, "--name", "node-b")
    alice, bob = create_user_in(database_url), create_user_in(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            on_a = await connect(http, first, alice)
            on_b = await connect(http, second, bob)
            await asyncio.sleep(1)  # both processes see each other's notification-stream presences

            # A notification sent on process A reaches Bob's socket on process B, live.
            await on_a.call("notify", {"user_id": bob.user_id})
            note = (await on_b.next_with("notifications"))["notifications"]["notifications"][0]
            assert note["subject"] == "hello" and json.loads(note["content"]) == {"from": "node-a"}

            # Both join a runtime stream; a send on A reaches B, and B's join is seen on A.
            await on_b.call("join_room")
            await on_a.call("join_room")
            own = await on_b.next_with("stream_presence_event")  # members hear their own join too
            assert own["stream_presence_event"]["joins"][0]["user_id"] == bob.user_id
            event = await on_b.next_with("stream_presence_event")
            assert event["stream_presence_event"]["joins"][0]["user_id"] == alice.user_id
            await on_a.call("shout", "go go go")
            data = await on_b.next_with("stream_data")
            assert data["stream_data"]["data"] == "go go go"
            assert (await on_a.call("room_count"))["count"] == 2

            # A chat message sent on A reaches B's member of the room.
            for socket in (on_b, on_a):
                await socket.ws.send_str(json.dumps({"cid": "join", "channel_join": {"target": "pit", "type": 1}}))
                assert "channel" in await socket.next_with("channel")
            await on_a.ws.send_str(json.dumps({"cid": "say", "channel_message_send": {
                "channel_id": "2...pit", "content": '{"lap":3}'}}))
            chat = (await on_b.next_with("channel_message"))["channel_message"]
            assert chat["sender_id"] == alice.user_id and json.loads(chat["content"]) == {"lap": 3}

            # kill -9 of B: its presence leaves A's view within the membership bound plus a sweep.
            killed_at = time.monotonic()
            second.stop(signal.SIGKILL)
            bound = EXPIRY_SEC + SWEEP_INTERVAL_SEC + 2
            while (await on_a.call("room_count"))["count"] != 1:
                assert time.monotonic() - killed_at < bound, "ghost presence outlived the bound"
                await asyncio.sleep(0.5)
            leave = await on_a.next_with("stream_presence_event")
            while "leaves" not in leave["stream_presence_event"]:  # skip the joins seen earlier
                leave = await on_a.next_with("stream_presence_event")
            assert leave["stream_presence_event"]["leaves"][0]["user_id"] == bob.user_id
            await on_a.ws.close()
    finally:
        second.stop()
        first.stop()


async def test_shutdown_closes_sockets_going_away(tmp_path: Path, database_url: str) -> None:
    server = start_server(tmp_path, database_url)
    user = create_user_in(database_url)
    try:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(f"{server.url}/ws?token={user.token}")
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            message = await ws.receive(10)
            assert message.type == aiohttp.WSMsgType.CLOSE and message.data == aiohttp.WSCloseCode.GOING_AWAY
            await ws.close()
        assert server.process.wait(20) == 0
        assert time.monotonic() - started < 10  # an open socket does not hold the shutdown for its grace time
    finally:
        server.stop()
