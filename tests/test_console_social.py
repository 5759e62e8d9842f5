"""The console pages that read the realtime and social features: sockets, sessions and the cluster's processes
on Status, an account's friends and groups on Accounts (and in its export), socket hooks on Runtime."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.console.app import build_console_app
from nakama_py.state import ServerState, build_state
from tests.support.modules import write_module
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

Client = TestClient[web.Request, web.Application]
ConfigFactory = Callable[..., Config]

MODULE = """
    async def before_join(ctx, logger, nk, envelope):
        return envelope

    async def after_send(ctx, logger, nk, reply, envelope):
        pass

    async def started(ctx, logger, nk, event):
        pass

    def init_module(ctx, logger, nk, initializer):
        initializer.register_rt_before("ChannelJoin", before_join)
        initializer.register_rt_after("ChannelMessageSend", after_send)
        initializer.register_event_session_start(started)
"""


async def signed_in_console(state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    console: Client = await aiohttp_client(build_console_app(state))
    async with console.post("/signin", data={"username": "admin", "password": "password"},
                            allow_redirects=False) as response:
        assert response.status == 303
    return console


async def status_json(console: Client) -> dict[str, Any]:
    async with console.get("/status.json") as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
    return body


async def test_status_counts_sockets_sessions_and_the_clusters_processes(
        state: ServerState, aiohttp_client: Callable[..., Any], alice: TestUser, bob: TestUser) -> None:
    api: Client = await aiohttp_client(WireTestServer(build_app(state)))
    console = await signed_in_console(state, aiohttp_client)
    before = await status_json(console)
    assert before["sockets"] == 0
    assert state.node in before["cluster"]["nodes"]
    this = [p for p in before["cluster"]["processes"] if p["this"]]
    assert [p["process"] for p in this] == [state.bus.process]

    sockets = [await api.ws_connect(f"/ws?token={user.token}&status=true") for user in (alice, bob)]
    try:
        now = await status_json(console)
        assert now["sockets"] == 2
        # Each socket is one session; each is on its notification stream and (status=true) its status stream.
        assert now["sessions"] - before["sessions"] == 2
        assert now["presences"] - before["presences"] >= 2
        async with console.get("/status") as response:
            page = await response.text()
        assert state.bus.process in page and "serves this console" in page
        assert 'data-field="sockets">2<' in page
    finally:
        for socket in sockets:
            await socket.close()
    for _ in range(50):  # the server notices the close on its side of the socket
        after = await status_json(console)
        if after["sockets"] == 0:
            break
        await asyncio.sleep(0.1)
    assert after["sockets"] == 0 and after["sessions"] == before["sessions"]


async def test_an_account_shows_and_exports_its_friends_and_groups(
        state: ServerState, aiohttp_client: Callable[..., Any]) -> None:
    alice, bob, carol, dave = [await create_user(state) for _ in range(4)]
    await state.friends.add(alice.user_id, alice.username, [bob.user_id])
    await state.friends.add(bob.user_id, bob.username, [alice.user_id])   # bob accepts: friends
    await state.friends.add(alice.user_id, alice.username, [dave.user_id])  # not answered yet
    await state.friends.block(alice.user_id, [carol.user_id])
    own = await state.groups.create(alice.user_id, f"club-{alice.username}", open=True)
    joined = await state.groups.create(bob.user_id, f"crew-{bob.username}", open=True)
    await state.groups.join(joined.id, alice.user_id, alice.username)

    console = await signed_in_console(state, aiohttp_client)
    async with console.get(f"/accounts/{alice.user_id}") as response:
        assert response.status == 200
        page = await response.text()
    friends_table = page.split('id="friends"', 1)[1].split("</table>", 1)[0]
    assert f">{bob.username}</a></td><td>friend<" in friends_table
    assert f">{dave.username}</a></td><td>invite sent<" in friends_table
    assert f">{carol.username}</a></td><td>blocked<" in friends_table
    groups_table = page.split('id="groups"', 1)[1].split("</table>", 1)[0]
    assert f"club-{alice.username} <code>{own.id}</code></td><td>superadmin<" in groups_table
    assert f"crew-{bob.username} <code>{joined.id}</code></td><td>member<" in groups_table

    async with console.get(f"/accounts/{bob.user_id}") as response:  # the other side of each edge
        page = await response.text()
    assert f">{alice.username}</a></td><td>friend<" in page and "superadmin<" in page

    async with console.get(f"/accounts/{alice.user_id}/export") as response:
        assert response.status == 200
        document = json.loads(await response.text())
    friends = {f["user"]["username"]: (f["state"], f["state_name"]) for f in document["friends"]}
    assert friends == {bob.username: (0, "friend"), dave.username: (1, "invite sent"),
                       carol.username: (3, "blocked")}
    groups = {g["group"]["id"]: (g["state"], g["role"]) for g in document["groups"]}
    assert groups == {own.id: (0, "superadmin"), joined.id: (2, "member")}


async def test_an_account_without_friends_or_groups(state: ServerState, aiohttp_client: Callable[..., Any],
                                                    alice: TestUser) -> None:
    console = await signed_in_console(state, aiohttp_client)
    async with console.get(f"/accounts/{alice.user_id}") as response:
        page = await response.text()
    assert "No friends, invites or blocks." in page and "No groups." in page
    async with console.get(f"/accounts/{alice.user_id}/export") as response:
        document = json.loads(await response.text())
    assert document["friends"] == [] and document["groups"] == []


@pytest.fixture
async def hooked_state(make_config: ConfigFactory, database_url: str, tmp_path: Path) -> AsyncIterator[ServerState]:
    write_module(tmp_path / "modules", "socket_hooks.py", MODULE)
    state = await build_state(make_config("--runtime.path", str(tmp_path / "modules")), database_url)
    try:
        yield state
    finally:
        await state.close()


async def test_runtime_lists_socket_hooks_next_to_rest_hooks(hooked_state: ServerState,
                                                             aiohttp_client: Callable[..., Any]) -> None:
    console = await signed_in_console(hooked_state, aiohttp_client)
    async with console.get("/runtime") as response:
        assert response.status == 200
        page = await response.text()
    socket_hooks = page.split('id="rt-hooks"', 1)[1].split("</table>", 1)[0]
    assert "<td>before</td><td>channel_join</td><td>socket_hooks</td>" in socket_hooks
    assert "<td>after</td><td>channel_message_send</td><td>socket_hooks</td>" in socket_hooks
    assert "<td>session start</td><td></td><td>socket_hooks</td>" in socket_hooks
    rest_hooks = page.split('id="rest-hooks"', 1)[1].split("</table>", 1)[0]
    assert "None." in rest_hooks


async def test_runtime_without_socket_hooks(state: ServerState, aiohttp_client: Callable[..., Any]) -> None:
    console = await signed_in_console(state, aiohttp_client)
    async with console.get("/runtime") as response:
        page = await response.text()
    assert "None." in page.split('id="rt-hooks"', 1)[1].split("</table>", 1)[0]
