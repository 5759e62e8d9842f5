"""Listing parties: ``GET /v2/party`` (Nakama's ListParties) and ``nk.party_list``, with the query
over labels, the open filter, hidden parties, pages and Nakama's errors."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.state import ServerState, build_state
from tests.support.modules import write_module
from tests.support.routes import call, error
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

Client = TestClient[web.Request, web.Application]

MODULE = """
    import json

    async def parties(ctx, logger, nk, payload):
        args = json.loads(payload)
        found, cursor = await nk.party_list(**args)
        return json.dumps({"parties": found, "cursor": cursor})

    AFTER = []

    async def only_duos(ctx, logger, nk, message):
        # A game that lists duo parties only, whatever the client asks.
        message["query"] = "+label.mode:duo"
        return message

    async def sized(ctx, logger, nk, envelope):
        if envelope["party_create"].get("label") == '{"mode":"solo"}':
            return None
        envelope["party_create"]["max_size"] = 2
        return envelope

    async def created(ctx, logger, nk, reply, envelope):
        AFTER.append(reply["party"]["party_id"])

    async def after_list(ctx, logger, nk, reply, message):
        AFTER.append(len(reply["parties"]))

    async def after_log(ctx, logger, nk, payload):
        return json.dumps(AFTER)

    def init_module(ctx, logger, nk, initializer):
        initializer.register_rpc("parties", parties)
        initializer.register_rpc("after_log", after_log)
"""


@pytest.fixture
async def listing(make_config: Callable[..., Config], database_url: str, tmp_path: Path,
                  aiohttp_client: Callable[..., Any]) -> AsyncIterator[tuple[Client, ServerState]]:
    write_module(tmp_path / "modules", "party_list.py", MODULE)
    state = await build_state(make_config("--runtime.path", str(tmp_path / "modules")), database_url)
    try:
        yield await aiohttp_client(WireTestServer(build_app(state))), state
    finally:
        await state.close()


async def create_party(client: Client, state: ServerState, **body: Any) -> tuple[TestUser, str]:
    user = await create_user(state)
    socket = JsonSocket(await client.ws_connect(f"/ws?token={user.token}"))
    reply = await socket.request({"party_create": {"max_size": 4, **body}})
    return user, reply["party"]["party_id"]


async def rpc(client: Client, user: TestUser, **args: Any) -> dict[str, Any]:
    status, body = await call(client, "POST", "/v2/rpc/parties", user, json.dumps(args))
    assert status == 200, body
    result: dict[str, Any] = json.loads(body["payload"])
    return result


async def test_list_with_queries_filters_and_pages(listing: tuple[Client, ServerState]) -> None:
    client, state = listing
    user, duo = await create_party(client, state, open=True, label='{"mode":"duo","skill":5}')
    _, squad = await create_party(client, state, open=False, label='{"skill":9,"mode":"squad"}')
    _, plain = await create_party(client, state, open=True)
    _, hidden = await create_party(client, state, open=True, hidden=True)

    status, body = await call(client, "GET", "/v2/party", user, limit=10)
    assert status == 200
    assert {p["party_id"] for p in body["parties"]} == {duo, squad, plain}  # hidden ones are never listed here
    listed = {p["party_id"]: p for p in body["parties"]}
    assert listed[squad] == {"party_id": squad, "max_size": 4, "label": '{"mode":"squad","skill":9}'}
    assert listed[plain]["label"] == "{}" and listed[plain]["open"] is True

    status, body = await call(client, "GET", "/v2/party", user, query="+label.mode:duo")
    assert [p["party_id"] for p in body["parties"]] == [duo]
    status, body = await call(client, "GET", "/v2/party", user, query="+label.skill:>=5")
    assert {p["party_id"] for p in body["parties"]} == {duo, squad}
    status, body = await call(client, "GET", "/v2/party", user, open="false")
    assert [p["party_id"] for p in body["parties"]] == [squad]

    # Pages of one, oldest first (equal scores), with a cursor tied to its parameters.
    status, first = await call(client, "GET", "/v2/party", user, limit=1)
    assert [p["party_id"] for p in first["parties"]] == [duo] and first["cursor"]
    status, second = await call(client, "GET", "/v2/party", user, limit=1, cursor=first["cursor"])
    assert [p["party_id"] for p in second["parties"]] == [squad]
    status, third = await call(client, "GET", "/v2/party", user, limit=1, cursor=second["cursor"])
    assert [p["party_id"] for p in third["parties"]] == [plain] and "cursor" not in third
    assert await call(client, "GET", "/v2/party", user, limit=2, cursor=first["cursor"]) == (
        500, error("Error listing matches.", 13))

    assert await call(client, "GET", "/v2/party", user, limit=101) == (
        400, error("Invalid limit - limit must be between 1 and 100."))
    assert await call(client, "GET", "/v2/party", user, query="+label.skill:>=") == (
        500, error("Error listing matches.", 13))
    assert (await call(client, "GET", "/v2/party", None))[0] == 401

    # The runtime may see hidden parties.
    found = await rpc(client, user, limit=10, show_hidden=True, query="*")
    assert {p["party_id"] for p in found["parties"]} == {duo, squad, plain, hidden}
    found = await rpc(client, user, limit=10, open=True, query="+label.mode:duo")
    assert [p["party_id"] for p in found["parties"]] == [duo] and found["cursor"] == ""
    status, body = await call(client, "POST", "/v2/rpc/parties", user, json.dumps({"limit": 0}))
    assert status == 400 and body["message"] == "limit must be 1-100"


async def test_a_closed_party_leaves_the_list(listing: tuple[Client, ServerState]) -> None:
    client, state = listing
    user = await create_user(state)
    socket = JsonSocket(await client.ws_connect(f"/ws?token={user.token}"))
    party_id = (await socket.request({"party_create": {"open": True, "max_size": 2}}))["party"]["party_id"]
    assert [p["party_id"] for p in (await call(client, "GET", "/v2/party", user))[1]["parties"]] == [party_id]
    assert await socket.request({"party_close": {"party_id": party_id}}) == {}
    assert (await call(client, "GET", "/v2/party", user))[1] == {}


async def test_runtime_hooks_on_parties(make_config: Callable[..., Config], database_url: str, tmp_path: Path,
                                        aiohttp_client: Callable[..., Any]) -> None:
    module = MODULE.replace('initializer.register_rpc("parties", parties)',
                            'initializer.register_rpc("parties", parties)\n'
                            '        initializer.register_rt_before("PartyCreate", sized)\n'
                            '        initializer.register_rt_after("PartyCreate", created)\n'
                            '        initializer.register_before("ListParties", only_duos)\n'
                            '        initializer.register_after("ListParties", after_list)')
    write_module(tmp_path / "modules", "party_hooks.py", module)
    state = await build_state(make_config("--runtime.path", str(tmp_path / "modules")), database_url)
    try:
        client: Client = await aiohttp_client(WireTestServer(build_app(state)))
        user = await create_user(state)
        socket = JsonSocket(await client.ws_connect(f"/ws?token={user.token}"))
        # The before hook changed the max size; the after hook saw the reply.
        reply = await socket.request({"party_create": {"open": True, "max_size": 8, "label": '{"mode":"duo"}'}})
        duo = reply["party"]["party_id"]
        assert reply["party"]["max_size"] == 2
        await socket.request({"party_create": {"open": True, "max_size": 8, "label": '{"mode":"trio"}'}})
        status, body = await call(client, "GET", "/v2/party", user)  # the before hook asks for duos only
        assert status == 200 and [p["party_id"] for p in body["parties"]] == [duo]
        status, body = await call(client, "POST", "/v2/rpc/after_log", user, json.dumps(""))
        assert json.loads(body["payload"])[0] == duo and json.loads(body["payload"])[-1] == 1
        # A before hook's None refuses the message and closes the socket, as in Nakama: the parties it led end.
        refused = await socket.request({"party_create": {"open": True, "max_size": 8, "label": '{"mode":"solo"}'}})
        assert refused["error"]["message"] == "Requested resource was not found."
        # The parties end through the tracker's leave events and the party outbox: about 50 ms here, but
        # once more than 2 s late in a full run on a busy machine, so the bound is the socket's own close
        # bound (write_wait_ms) and more.
        deadline = time.monotonic() + 10
        while state.parties.count() != 0:
            assert time.monotonic() < deadline, "the refused socket's parties did not end"
            await asyncio.sleep(0.05)
    finally:
        await state.close()
