"""HTTP conventions on the live application: routing errors, CORS, headers, bodies, health."""

from __future__ import annotations

import gzip

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp.plugin import AiohttpClient

from nakama_py.app import build_app
from nakama_py.errors import Code
from nakama_py.state import ServerState
from nakama_py.wire.request import query_values, read_body
from nakama_py.wire.response import json_response
from tests.conftest import ConfigFactory, HttpClient
from tests.support.wire_server import WireTestServer


async def echo_body(request: web.Request) -> web.Response:
    body = await read_body(request)
    return json_response({"body": body, "tags": query_values(request.query, "tag")})


async def big(request: web.Request) -> web.Response:
    return json_response({"data": "x" * 4000})


@pytest.fixture
async def probe_client(state: ServerState, aiohttp_client: AiohttpClient) -> HttpClient:
    """The real application plus two probe routes that exercise body and response handling."""
    app = build_app(state)
    app.router.add_post("/probe/echo", echo_body)
    app.router.add_get("/probe/big", big)
    return await aiohttp_client(app)


async def test_root_answers_200_with_an_empty_body(client: HttpClient) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert await response.read() == b""
    assert "Cache-Control" not in response.headers


async def test_healthcheck(client: HttpClient) -> None:
    response = await client.get("/healthcheck")
    assert response.status == 200
    assert await response.json() == {}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store, no-cache, must-revalidate"
    assert response.headers["Vary"] == "Accept-Encoding"


async def test_healthcheck_says_503_without_a_database(client: HttpClient, state: ServerState) -> None:
    await state.db.close()
    response = await client.get("/healthcheck")
    assert response.status == 503
    assert (await response.json())["code"] == Code.UNAVAILABLE


async def test_unknown_route_is_404_code_5(client: HttpClient) -> None:
    response = await client.get("/v2/nothing-here")
    assert response.status == 404
    assert await response.json() == {"code": 5, "message": "Not Found"}


async def test_wrong_method_is_501_code_12(client: HttpClient) -> None:
    response = await client.delete("/healthcheck")
    assert response.status == 501
    assert await response.json() == {"code": 12, "message": "Method Not Allowed"}


async def test_preflight_without_origin_is_an_empty_200(client: HttpClient) -> None:
    response = await client.options("/v2/account")
    assert response.status == 200
    assert await response.read() == b""
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_preflight_like_chromium_sends_it(client: HttpClient) -> None:
    response = await client.options("/v2/account/authenticate/custom", headers={
        "Origin": "null", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert response.status == 200
    assert await response.read() == b""
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization,Content-Type"
    assert "Access-Control-Allow-Methods" not in response.headers  # POST is a simple method


async def test_preflight_for_put_names_the_method(client: HttpClient) -> None:
    response = await client.options("/v2/storage", headers={
        "Origin": "http://game.example", "Access-Control-Request-Method": "PUT"})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Methods"] == "PUT"


@pytest.mark.parametrize(("headers", "status"), [
    ({"Origin": "x"}, 400),
    ({"Origin": "x", "Access-Control-Request-Method": "PATCH"}, 405),
    ({"Origin": "x", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "http_key"}, 403),
])
async def test_preflight_refusals(client: HttpClient, headers: dict[str, str], status: int) -> None:
    response = await client.options("/v2/account", headers=headers)
    assert response.status == status


async def test_cors_header_on_errors_too(client: HttpClient) -> None:
    response = await client.get("/v2/unknown", headers={"Origin": "null"})
    assert response.status == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    response = await client.get("/healthcheck")
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_bodies_in_any_content_type_and_case(probe_client: HttpClient) -> None:
    response = await probe_client.post("/probe/echo?", data=b'{"refreshToken":"t"}')
    assert response.status == 200
    assert (await response.json())["body"] == {"refreshToken": "t"}
    response = await probe_client.post("/probe/echo", data=b'{"a":1}', headers={"Content-Type": "text/plain"})
    assert (await response.json())["body"] == {"a": 1}
    response = await probe_client.post("/probe/echo", data=b"")
    assert await response.json() == {}


async def test_trailing_query_separators_and_repeated_keys(probe_client: HttpClient) -> None:
    response = await probe_client.post("/probe/echo?tag=a&tag=b&", data=b"{}")
    assert (await response.json())["tags"] == ["a", "b"]


async def test_invalid_json_is_400_code_3(probe_client: HttpClient) -> None:
    response = await probe_client.post("/probe/echo", data=b"{not json")
    assert response.status == 400
    assert (await response.json())["code"] == Code.INVALID_ARGUMENT


async def test_body_size_limit(probe_client: HttpClient, state: ServerState) -> None:
    limit = state.config.socket.max_request_size_bytes
    response = await probe_client.post("/probe/echo", data=b'{"a":"' + b"x" * limit + b'"}')
    assert response.status == 400
    assert await response.json() == {"code": 3, "message": "http: request body too large"}


async def test_gzip_request_bodies_are_accepted(probe_client: HttpClient) -> None:
    response = await probe_client.post("/probe/echo", data=gzip.compress(b'{"zipped":true}'),
                                       headers={"Content-Encoding": "gzip"})
    assert (await response.json())["body"] == {"zipped": True}


async def test_large_replies_are_compressed_when_asked(probe_client: HttpClient) -> None:
    response = await probe_client.get("/probe/big", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"
    assert len((await response.json())["data"]) == 4000
    response = await probe_client.get("/probe/big", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers


async def test_configured_response_headers(make_config: ConfigFactory, database_url: str,
                                           aiohttp_client: AiohttpClient) -> None:
    from nakama_py.state import build_state

    config = make_config("--socket.response_headers", "X-Game=racing",
                         "--socket.response_headers", "Cache-Control=private")
    state = await build_state(config, database_url)
    try:
        async with TestClient(WireTestServer(build_app(state))) as client:
            response = await client.get("/healthcheck")
            assert response.headers["X-Game"] == "racing"
            # Nakama sets extra headers only where the response has none of its own.
            assert response.headers["Cache-Control"] == "no-store, no-cache, must-revalidate"
    finally:
        await state.close()
