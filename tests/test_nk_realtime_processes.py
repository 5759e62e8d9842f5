"""The runtime's chat, send-to-all, disconnect and ban reach sockets on another server process: a server
with two worker processes runs the module code, the sockets it acts on are connected to a second server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.modules import write_module
from tests.support.server import start_server
from tests.support.users import create_user_in
from tests.test_realtime_processes import Socket, connect

MODULE = """
    import json

    async def say(ctx, logger, nk, payload):
        channel = await nk.channel_id_build(None, "proc-room", 1)
        await nk.channel_message_send(channel, {"from": ctx.node})

    async def tell_all(ctx, logger, nk, payload):
        await nk.notification_send_all("news", {"from": ctx.node}, 5)

    async def whoami(ctx, logger, nk, payload):
        return json.dumps({"session_id": ctx.session_id})

    async def kick(ctx, logger, nk, payload):
        await nk.session_disconnect(json.loads(payload)["session_id"])

    async def ban(ctx, logger, nk, payload):
        await nk.users_ban_id([json.loads(payload)["user_id"]])

    def init_module(ctx, logger, nk, initializer):
        for name, fn in [("say", say), ("tell_all", tell_all), ("whoami", whoami), ("kick", kick), ("ban", ban)]:
            initializer.register_rpc(name, fn)
"""


async def closed(socket: Socket, timeout: float = 10) -> list[dict[str, Any]]:
    """Read until the server closes the socket; the messages pushed before the close."""
    pushed = list(socket.pending)
    while True:
        message = await socket.ws.receive(timeout)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            return pushed
        pushed.append(json.loads(message.data))


async def test_runtime_reaches_sockets_on_other_processes(tmp_path: Path, database_url: str) -> None:
    write_module(tmp_path / "modules", "nk_procs.py", MODULE)
    args = ("--runtime.path", str(tmp_path / "modules"))
    first = start_server(tmp_path / "a", database_url, *args, "--name", "node-a", "--socket.workers", "2")
    second = start_server(tmp_path / "b", database_url, *args, "--name", "node-b")
    alice, bob, carol = (create_user_in(database_url) for _ in range(3))
    try:
        async with aiohttp.ClientSession() as http:
            on_a = await connect(http, first, alice)
            bob_b, carol_b = await connect(http, second, bob), await connect(http, second, carol)
            await bob_b.ws.send_str(json.dumps({"cid": "j", "channel_join": {"target": "proc-room", "type": 1}}))
            assert "channel" in await bob_b.next_with("channel")
            await asyncio.sleep(1)  # every process sees the others' presences

            await on_a.call("say")
            chat = (await bob_b.next_with("channel_message"))["channel_message"]
            assert json.loads(chat["content"]) == {"from": "node-a"}
            assert chat["sender_id"] == "00000000-0000-0000-0000-000000000000"

            await on_a.call("tell_all")
            for socket in (bob_b, carol_b, on_a):
                note = (await socket.next_with("notifications"))["notifications"]["notifications"][0]
                assert note["subject"] == "news" and json.loads(note["content"]) == {"from": "node-a"}

            session_id = (await bob_b.call("whoami"))["session_id"]
            await on_a.call("kick", {"session_id": session_id})
            assert not any("notifications" in m for m in await closed(bob_b))

            await on_a.call("ban", {"user_id": carol.user_id})
            notes = [m["notifications"] for m in await closed(carol_b) if "notifications" in m]
            assert [(n["subject"], n["code"]) for note in notes for n in note["notifications"]] == [("banned", -8)]
            deadline = time.monotonic() + 5
            while True:  # the revocation reaches process B through the cluster bus
                async with http.get(f"{second.url}/v2/account", headers=carol.auth) as response:
                    if response.status == 401:
                        break
                assert time.monotonic() < deadline, "the banned user's token still works on the other process"
                await asyncio.sleep(0.1)
            async with http.get(f"{second.url}/v2/account", headers=bob.auth) as response:
                assert response.status == 200  # a disconnect leaves the tokens alone
            await on_a.ws.close()
    finally:
        second.stop()
        first.stop()
