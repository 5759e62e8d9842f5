"""The community client nakama-python 1.0.3 (PyPI), unmodified: its ``NakamaSocket`` connects and round-trips
a status follow, and receives the followed user's status presence events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from nakama import NakamaClient  # type: ignore[import-untyped]
from nakama.nk_socket import NakamaSocket  # type: ignore[import-untyped]

from nakama_py.app import build_app
from nakama_py.state import ServerState
from tests.support.users import create_user
from tests.support.wire_server import WireTestServer


async def test_nakama_python_socket_follows_status(state: ServerState, aiohttp_client: Callable[..., Any]) -> None:
    server = await aiohttp_client(WireTestServer(build_app(state)))
    alice, bob = await create_user(state), await create_user(state)
    client = NakamaClient("127.0.0.1", server.port, "defaultkey")
    client.session.token = alice.token
    socket = NakamaSocket(client)
    events: asyncio.Queue[Any] = asyncio.Queue()

    async def on_status(event: Any) -> None:
        await events.put(event)

    socket.handlers.status_presence_handler = on_status
    try:
        await socket.connect()
        reply = await asyncio.wait_for(socket.status.follow([bob.user_id]), 5)
        assert reply == {"status": {}}  # Bob is offline
        async with server.ws_connect(f"/ws?token={bob.token}&status=true"):
            event = await asyncio.wait_for(events.get(), 5)
            assert event["joins"][0]["user_id"] == bob.user_id
        assert await asyncio.wait_for(socket.status.unfollow([bob.user_id]), 5) == {}
    finally:
        await socket.close()
        await client.close()
