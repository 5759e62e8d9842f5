"""Module HTTP routes (``initializer.register_http``, Nakama's RegisterHttp): each auth mode the module
can choose, path parameters, methods, the module's headers and status, errors, and bad registrations."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.runtime.loader import RuntimeLoadError
from nakama_py.state import ServerState, build_state
from tests.support.modules import state_with_module, write_module
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

ConfigFactory = Callable[..., Config]
Client = TestClient[Any, Any]
HTTP_KEY = "route-http-key"

MODULE = """
    import json
    from nakama_py.runtime import Code, HttpResponse, NakamaError

    async def public(ctx, logger, nk, request):
        body = {"method": request.method, "path": request.path, "params": dict(request.path_params),
                "q": request.query_value("q"), "mode": ctx.execution_mode, "body": request.body.decode()}
        return HttpResponse(200, json.dumps(body), {"Cache-Control": "public, max-age=5", "X-Game": "racing"})

    async def mine(ctx, logger, nk, request):
        session = request.require_session()
        account = await nk.account_get_id(session.user_id)
        return HttpResponse(200, json.dumps({"user_id": session.user_id, "username": account.user.username}))

    async def optional(ctx, logger, nk, request):
        session = request.session()
        return HttpResponse(200, json.dumps({"user_id": session.user_id if session else None}))

    async def backend(ctx, logger, nk, request):
        request.require_http_key()
        return HttpResponse(201, "made", content_type="text/plain")

    async def teapot(ctx, logger, nk, request):
        raise NakamaError("no such item", Code.NOT_FOUND)

    async def crash(ctx, logger, nk, request):
        raise RuntimeError("internal detail")

    async def wrong(ctx, logger, nk, request):
        return "not a response"

    def init_module(ctx, logger, nk, initializer):
        initializer.register_http("/game/public/{item}", public, ["GET", "POST"])
        initializer.register_http("/game/mine", mine, ["GET"])
        initializer.register_http("/game/optional", optional)
        initializer.register_http("/game/backend", backend, ["post"])
        initializer.register_http("/game/missing", teapot)
        initializer.register_http("/game/crash", crash)
        initializer.register_http("/game/wrong", wrong)
"""


@pytest.fixture
async def route_state(make_config: ConfigFactory, database_url: str, tmp_path: Path) -> AsyncIterator[ServerState]:
    async with state_with_module(make_config, database_url, tmp_path / "modules", "routes.py", MODULE,
                                 "--runtime.http_key", HTTP_KEY) as state:
        yield state


@pytest.fixture
async def api(route_state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(route_state)))  # type: ignore[no-any-return]


@pytest.fixture
async def player(route_state: ServerState) -> TestUser:
    return await create_user(route_state)


async def test_an_open_route_gets_path_params_query_body_and_sets_its_headers(api: Client) -> None:
    response = await api.get("/game/public/car-7?q=fast")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=5"
    assert response.headers["X-Game"] == "racing"
    assert response.headers["Content-Type"].startswith("application/json")
    assert await response.json() == {"method": "GET", "path": "/game/public/car-7", "params": {"item": "car-7"},
                                     "q": "fast", "mode": "http", "body": ""}
    posted = await api.post("/game/public/x", data=b"hello")
    assert (await posted.json())["body"] == "hello"


async def test_methods_outside_the_registered_ones_are_refused_as_the_api_refuses_them(api: Client) -> None:
    # The server answers a wrong method with the gateway's 501 "Method Not Allowed", module routes too.
    for response in (await api.delete("/game/public/x"), await api.get("/game/backend")):
        assert (response.status, await response.json()) == (501, {"code": 12, "message": "Method Not Allowed"})
    assert (await api.get("/game/nothing-here")).status == 404


async def test_a_session_route_takes_a_valid_token_and_refuses_others(api: Client, player: TestUser) -> None:
    response = await api.get("/game/mine", headers=player.auth)
    assert response.status == 200
    assert await response.json() == {"user_id": player.user_id, "username": player.username}
    missing = await api.get("/game/mine")
    assert missing.status == 401
    assert await missing.json() == {"code": 16, "message": "Auth token required"}
    bad = await api.get("/game/mine", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status == 401
    assert await bad.json() == {"code": 16, "message": "Auth token invalid"}


async def test_a_revoked_session_is_refused_as_the_api_refuses_it(api: Client, player: TestUser) -> None:
    logout = await api.post("/v2/session/logout", json={"token": player.token}, headers=player.auth)
    assert logout.status == 200
    response = await api.get("/game/mine", headers=player.auth)
    assert response.status == 401


async def test_an_optional_session_route_answers_anonymous_callers(api: Client, player: TestUser) -> None:
    assert await (await api.get("/game/optional")).json() == {"user_id": None}
    assert await (await api.get("/game/optional", headers=player.auth)).json() == {"user_id": player.user_id}


async def test_an_http_key_route_takes_the_key_as_query_or_basic_username(api: Client, player: TestUser) -> None:
    by_query = await api.post(f"/game/backend?http_key={HTTP_KEY}")
    assert by_query.status == 201
    assert by_query.headers["Content-Type"].startswith("text/plain")
    assert await by_query.text() == "made"
    basic = "Basic " + base64.b64encode(f"{HTTP_KEY}:".encode()).decode()
    assert (await api.post("/game/backend", headers={"Authorization": basic})).status == 201
    wrong = await api.post("/game/backend?http_key=nope")
    assert (wrong.status, await wrong.json()) == (401, {"code": 16, "message": "HTTP key invalid"})
    none = await api.post("/game/backend", headers=player.auth)  # a session is not the key
    assert (none.status, await none.json()) == (401, {"code": 16, "message": "HTTP key required"})


async def test_errors_take_the_gateway_shape_and_hide_internals(api: Client) -> None:
    missing = await api.get("/game/missing")
    assert (missing.status, await missing.json()) == (404, {"code": 5, "message": "no such item"})
    for path in ("/game/crash", "/game/wrong"):
        response = await api.get(path)
        assert response.status == 500
        body = await response.json()
        assert body == {"code": 13, "message": "Internal Server Error"}
        assert "internal detail" not in json.dumps(body)


async def test_server_paths_and_bad_registrations_stop_start_up(make_config: ConfigFactory, database_url: str,
                                                                tmp_path: Path) -> None:
    cases = {
        "reserved": 'initializer.register_http("/v2/account", handler)',
        "socket": 'initializer.register_http("/ws", handler)',
        "relative": 'initializer.register_http("game/x", handler)',
        "method": 'initializer.register_http("/game/x", handler, ["FETCH"])',
        "twice": 'initializer.register_http("/game/x", handler, ["GET"]); '
                 'initializer.register_http("/game/x", handler)',
        "signature": 'initializer.register_http("/game/x", lambda r: r)',
    }
    for name, call in cases.items():
        directory = tmp_path / name
        write_module(directory, "bad.py", f"""
            async def handler(ctx, logger, nk, request):
                return None

            def init_module(ctx, logger, nk, initializer):
                {call}
        """)
        with pytest.raises(RuntimeLoadError) as failure:
            state = await build_state(make_config("--runtime.path", str(directory)), database_url)
            await state.close()
        assert "register_http" in failure.value.summary, name
