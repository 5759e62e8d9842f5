"""Before and after hooks on REST routes: rewrite, reject, drop, observe."""

from __future__ import annotations

import base64
import logging
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.state import ServerState
from tests.support.modules import state_with_module
from tests.support.users import create_user
from tests.support.wire_server import WireTestServer

ConfigFactory = Callable[..., Config]
Client = TestClient[Any, Any]

MODULE = """
    from nakama_py.runtime import Code, NakamaError

    SEEN = []

    async def before_custom(ctx, logger, nk, message):
        custom_id = message["account"]["id"]
        SEEN.append(("before", ctx.execution_mode, ctx.user_id, ctx.client_ip, custom_id))
        if custom_id.startswith("banned"):
            raise NakamaError("Banned by the game.", Code.PERMISSION_DENIED)
        if custom_id.startswith("dropped"):
            return None
        if custom_id.startswith("crashing"):
            raise ValueError("internal detail that must not leak")
        if custom_id.startswith("weird"):
            return "not a message"
        message["username"] = "hooked_" + custom_id[:8]
        return message

    async def after_custom(ctx, logger, nk, reply, message):
        SEEN.append(("after", ctx.execution_mode, ctx.user_id, reply["created"], message["account"]["id"]))
        if message["account"]["id"].startswith("afterfail"):
            raise RuntimeError("after hooks cannot change the reply")

    async def before_account(ctx, logger, nk, message):
        SEEN.append(("before_account", ctx.execution_mode, ctx.user_id, ctx.username, None))
        return message

    def init_module(ctx, logger, nk, initializer):
        initializer.register_before("AuthenticateCustom", before_custom)
        initializer.register_after("AuthenticateCustom", after_custom)
        initializer.register_before("getaccount", before_account)
"""

SERVER_KEY = {"Authorization": "Basic " + base64.b64encode(b"defaultkey:").decode()}


@pytest.fixture
async def hook_state(make_config: ConfigFactory, database_url: str, tmp_path: Path) -> AsyncIterator[ServerState]:
    async with state_with_module(make_config, database_url, tmp_path / "modules", "hookmod.py", MODULE) as state:
        yield state


@pytest.fixture
async def hook_client(hook_state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(hook_state)))  # type: ignore[no-any-return]


def seen() -> list[tuple[Any, ...]]:
    return sys.modules["hookmod"].SEEN  # type: ignore[no-any-return]


async def authenticate(client: Client, custom_id: str) -> Any:
    return await client.post("/v2/account/authenticate/custom", json={"id": custom_id}, headers=SERVER_KEY)


async def test_a_before_hook_rewrites_the_request(hook_client: Client, hook_state: ServerState) -> None:
    response = await authenticate(hook_client, "player-one-0001")
    assert response.status == 200
    token = (await response.json())["token"]
    assert hook_state.sessions.verify_session(token).username == "hooked_player-o"
    assert ("before", "before", None, "127.0.0.1", "player-one-0001") in seen()


async def test_a_before_hook_rejects_with_its_code(hook_client: Client) -> None:
    response = await authenticate(hook_client, "banned-player-1")
    assert response.status == 403
    assert await response.json() == {"code": 7, "message": "Banned by the game."}
    assert not [entry for entry in seen() if entry[0] == "after"]


async def test_a_before_hook_returning_none_drops_the_request(hook_client: Client) -> None:
    response = await authenticate(hook_client, "dropped-player-1")
    assert response.status == 404
    assert await response.json() == {"code": 5, "message": "Requested resource was not found."}


async def test_a_crashing_before_hook_is_a_generic_500(hook_client: Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="nakama_py.runtime"):
        response = await authenticate(hook_client, "crashing-player-1")
        weird = await authenticate(hook_client, "weird-player-01")
    assert response.status == 500
    assert await response.json() == {"code": 13, "message": "Internal Server Error"}
    assert any(r.exc_info and "must not leak" in str(r.exc_info[1]) for r in caplog.records)
    assert weird.status == 500


async def test_an_after_hook_sees_the_reply_and_the_new_user(hook_client: Client, hook_state: ServerState) -> None:
    response = await authenticate(hook_client, "after-player-01")
    token = (await response.json())["token"]
    user_id = hook_state.sessions.verify_session(token).user_id
    assert ("after", "after", user_id, True, "after-player-01") in seen()


async def test_an_after_hook_error_leaves_the_reply_alone(hook_client: Client) -> None:
    response = await authenticate(hook_client, "afterfail-player")
    assert response.status == 200
    assert "token" in await response.json()


async def test_a_before_hook_on_a_session_route_knows_the_caller(hook_client: Client,
                                                                 hook_state: ServerState) -> None:
    user = await create_user(hook_state)
    response = await hook_client.get("/v2/account", headers=user.auth)
    assert response.status == 200
    assert ("before_account", "before", user.user_id, user.username, None) in seen()


async def test_routes_without_hooks_are_untouched(hook_state: ServerState) -> None:
    assert hook_state.hooks.has_before("AuthenticateCustom")
    assert hook_state.hooks.has_before("GETACCOUNT")
    assert not hook_state.hooks.has_before("AuthenticateDevice")
    assert not hook_state.hooks.has_after("GetAccount")
