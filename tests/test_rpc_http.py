"""``GET|POST /v2/rpc/{id}`` as Nakama serves it: auth order, payload forms, replies, errors, ctx fields."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.errors import Code
from nakama_py.state import ServerState, build_state
from tests.support.modules import write_module
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

ConfigFactory = Callable[..., Config]
Client = TestClient[Any, Any]

MODULE = """
    import json
    from nakama_py.runtime import Code, NakamaError, RateLimitedError

    async def echo(ctx, logger, nk, payload):
        return payload

    async def nothing(ctx, logger, nk, payload):
        return None

    async def context(ctx, logger, nk, payload):
        try:
            ctx.user_id = "someone else"
            writable = True
        except AttributeError:
            writable = False
        return json.dumps({**ctx.as_dict(), "writable": writable, "payload": payload})

    async def fail(ctx, logger, nk, payload):
        raise NakamaError("no such race", Code.NOT_FOUND)

    async def odd_code(ctx, logger, nk, payload):
        raise NakamaError("odd", 99)

    async def crash(ctx, logger, nk, payload):
        raise RuntimeError("secret internal detail: db password is hunter2")

    async def not_a_string(ctx, logger, nk, payload):
        return 42

    async def limited(ctx, logger, nk, payload):
        raise RateLimitedError("Too many submissions; retry in 2.5 seconds.", 2.5)

    def init_module(ctx, logger, nk, initializer):
        initializer.register_rpc("echo", echo)
        initializer.register_rpc("nothing", nothing)
        initializer.register_rpc("context", context)
        initializer.register_rpc("Path/With/Slash", echo)
        initializer.register_rpc("fail", fail)
        initializer.register_rpc("odd_code", odd_code)
        initializer.register_rpc("crash", crash)
        initializer.register_rpc("not_a_string", not_a_string)
        initializer.register_rpc("limited", limited)
"""

HTTP_KEY = "s3cret-http-key"
AUTH_TOKEN_INVALID = b'{"error":"Auth token invalid","message":"Auth token invalid","code":16}'
HTTP_KEY_INVALID = b'{"error":"HTTP key invalid","message":"HTTP key invalid","code":16}'
NO_AUTH = b'{"error":"Auth token or HTTP key required","message":"Auth token or HTTP key required","code":16}'
BAD_JSON = (b'{"error":"json: cannot unmarshal object into Go value of type string",'
            b'"message":"json: cannot unmarshal object into Go value of type string","code":3}')


@pytest.fixture
async def rpc_state(make_config: ConfigFactory, database_url: str, tmp_path: Path) -> AsyncIterator[ServerState]:
    write_module(tmp_path / "modules", "calls.py", MODULE)
    config = make_config("--runtime.path", str(tmp_path / "modules"), "--runtime.http_key", HTTP_KEY,
                         "--runtime.env", "region=eu", "--runtime.env", "mode=test", "--name", "node7",
                         "--socket.max_request_size_bytes", "2048")
    state = await build_state(config, database_url)
    try:
        yield state
    finally:
        await state.close()


@pytest.fixture
async def rpc_client(rpc_state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(rpc_state)))  # type: ignore[no-any-return]


@pytest.fixture
async def user(rpc_state: ServerState) -> TestUser:
    return await create_user(rpc_state)


def basic(username: str, password: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


async def payload_of(response: Any) -> Any:
    assert response.status == 200, await response.text()
    return json.loads((await response.json())["payload"])


# --- auth ----------------------------------------------------------------------------


async def test_no_credentials_is_401(rpc_client: Client) -> None:
    response = await rpc_client.post("/v2/rpc/echo", data=b'"x"')
    assert response.status == 401
    assert await response.read() == NO_AUTH
    assert response.headers["Content-Type"] == "application/json"


async def test_http_key_in_the_query(rpc_client: Client) -> None:
    response = await rpc_client.post(f"/v2/rpc/context?http_key={HTTP_KEY}", data=b'"hi"')
    ctx = await payload_of(response)
    assert ctx["user_id"] is None and ctx["username"] is None and ctx["user_session_exp"] is None
    assert ctx["vars"] == {}
    assert ctx["payload"] == "hi"


async def test_a_wrong_http_key_is_401_even_with_a_valid_session(rpc_client: Client, user: TestUser) -> None:
    response = await rpc_client.post("/v2/rpc/echo?http_key=wrong", data=b'"x"', headers=user.auth)
    assert response.status == 401
    assert await response.read() == HTTP_KEY_INVALID


async def test_the_http_key_wins_over_a_session_and_the_call_has_no_user(rpc_client: Client, user: TestUser) -> None:
    ctx = await payload_of(await rpc_client.post(f"/v2/rpc/context?http_key={HTTP_KEY}", headers=user.auth))
    assert ctx["user_id"] is None


async def test_an_empty_http_key_falls_back_to_the_header(rpc_client: Client, user: TestUser) -> None:
    ctx = await payload_of(await rpc_client.post("/v2/rpc/context?http_key=", headers=user.auth))
    assert ctx["user_id"] == user.user_id
    assert ctx["query_params"] == {}


async def test_http_key_as_basic_auth(rpc_client: Client) -> None:
    ctx = await payload_of(await rpc_client.post("/v2/rpc/context", headers=basic(HTTP_KEY, "ignored")))
    assert ctx["user_id"] is None
    response = await rpc_client.post("/v2/rpc/context", headers=basic("defaultkey"))
    assert response.status == 401
    assert await response.read() == HTTP_KEY_INVALID


@pytest.mark.parametrize("header", [
    "Basic " + base64.b64encode(HTTP_KEY.encode()).decode(),   # no colon: not Basic, so not a bearer either
    "Bearer not-a-jwt",
    "Token abc",
    "",
    "bearer lowercase-scheme",
])
async def test_bad_authorization_headers_are_auth_token_invalid(rpc_client: Client, header: str) -> None:
    response = await rpc_client.post("/v2/rpc/echo", headers={"Authorization": header})
    assert response.status == 401
    assert await response.read() == AUTH_TOKEN_INVALID


async def test_expired_and_revoked_sessions_are_refused(rpc_client: Client, rpc_state: ServerState,
                                                        user: TestUser) -> None:
    expired = rpc_state.sessions.issue(user.user_id, user.username, expires_at=int(time.time()) - 1)
    response = await rpc_client.post("/v2/rpc/echo", headers={"Authorization": f"Bearer {expired.token}"})
    assert (response.status, await response.read()) == (401, AUTH_TOKEN_INVALID)
    assert (await rpc_client.post("/v2/rpc/echo", headers=user.auth)).status == 200
    await rpc_state.sessions.revoke_user(user.user_id)
    response = await rpc_client.post("/v2/rpc/echo", headers=user.auth)
    assert (response.status, await response.read()) == (401, AUTH_TOKEN_INVALID)


async def test_a_session_call_carries_the_user(rpc_client: Client, rpc_state: ServerState) -> None:
    user = await create_user(rpc_state)
    issued = rpc_state.sessions.issue(user.user_id, user.username, {"tier": "gold"})
    ctx = await payload_of(await rpc_client.post("/v2/rpc/context",
                                                 headers={"Authorization": f"Bearer {issued.token}"}))
    assert ctx["user_id"] == user.user_id
    assert ctx["username"] == user.username
    assert ctx["vars"] == {"tier": "gold"}
    assert ctx["user_session_exp"] == issued.claims.expires_at


# --- payload forms and replies ------------------------------------------------------


async def test_the_body_is_a_json_string_and_the_reply_wraps_the_result(rpc_client: Client, user: TestUser) -> None:
    payload = '{"name": "Zoë <&> \\u2028", "emoji": "🏁", "n": [1, 2.5, null]}'
    response = await rpc_client.post("/v2/rpc/echo", data=json.dumps(payload), headers=user.auth)
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    body = await response.read()
    assert json.loads(body) == {"payload": payload}
    assert b"<" not in body and b">" not in body and b"&" not in body  # escaped as Go's encoder does
    assert body.startswith(b'{"payload":"{\\"name\\": \\"Zo\xc3\xab \\u003c\\u0026\\u003e')


@pytest.mark.parametrize(("body", "payload"), [
    (b"", ""),
    (b"null", ""),
    (b'"plain text"', "plain text"),
    (b'  "spaced"  ', "spaced"),
    (b'{"hello": "world"}', '{"hello": "world"}'),                  # nakama-python posts the object itself
])
async def test_payload_forms(rpc_client: Client, user: TestUser, body: bytes, payload: str) -> None:
    response = await rpc_client.post("/v2/rpc/echo", data=body, headers=user.auth)
    assert response.status == 200
    assert await response.json() == {"payload": payload}


@pytest.mark.parametrize("body", [b"42", b"[1, 2]", b"true", b"{not json", b'"unterminated'])
async def test_a_body_that_is_not_a_json_string_is_400(rpc_client: Client, user: TestUser, body: bytes) -> None:
    response = await rpc_client.post("/v2/rpc/echo", data=body, headers=user.auth)
    assert response.status == 400
    assert await response.read() == BAD_JSON


async def test_an_empty_result_is_an_empty_payload(rpc_client: Client, user: TestUser) -> None:
    response = await rpc_client.post("/v2/rpc/nothing", headers=user.auth)
    assert await response.read() == b'{"payload":""}'


async def test_unwrap_is_raw_both_ways_with_the_request_content_type(rpc_client: Client, user: TestUser) -> None:
    raw = b'\x00\xffnot json at all \xe2\x82\xac'
    response = await rpc_client.post("/v2/rpc/echo?unwrap", data=raw,
                                     headers={**user.auth, "Content-Type": "application/x-race; v=2"})
    assert response.status == 200
    assert await response.read() == raw
    assert response.headers["Content-Type"] == "application/x-race; v=2"


async def test_unwrap_with_any_value_and_no_content_type_answers_text_plain(rpc_client: Client,
                                                                           user: TestUser) -> None:
    response = await rpc_client.post("/v2/rpc/echo?unwrap=false", data=b'{"a":1}', headers=user.auth,
                                     skip_auto_headers=["Content-Type"])
    assert await response.read() == b'{"a":1}'
    assert response.headers["Content-Type"] == "text/plain"


async def test_get_takes_the_payload_query_parameter(rpc_client: Client) -> None:
    response = await rpc_client.get(f"/v2/rpc/echo?payload=%7B%22a%22%3A1%7D&http_key={HTTP_KEY}&")
    assert await response.json() == {"payload": '{"a":1}'}
    response = await rpc_client.get(f"/v2/rpc/echo?http_key={HTTP_KEY}", data=b'"ignored body"')
    assert await response.json() == {"payload": ""}


async def test_ids_are_case_insensitive_and_may_hold_slashes(rpc_client: Client, user: TestUser) -> None:
    assert (await rpc_client.post("/v2/rpc/ECHO", data=b'"a"', headers=user.auth)).status == 200
    response = await rpc_client.post("/v2/rpc/path/with/SLASH", data=b'"b"', headers=user.auth)
    assert await response.json() == {"payload": "b"}


async def test_unknown_and_empty_ids(rpc_client: Client, user: TestUser) -> None:
    response = await rpc_client.post("/v2/rpc/nope", headers=user.auth)
    assert response.status == 404
    assert await response.read() == b'{"error":"RPC function not found","message":"RPC function not found","code":5}'
    response = await rpc_client.post("/v2/rpc/", headers=user.auth)
    assert response.status == 400
    assert await response.read() == b'{"error":"RPC ID must be set","message":"RPC ID must be set","code":3}'


async def test_credentials_are_checked_before_the_id(rpc_client: Client) -> None:
    response = await rpc_client.post("/v2/rpc/nope")
    assert (response.status, await response.read()) == (401, NO_AUTH)


async def test_a_body_over_the_limit_is_400(rpc_client: Client, user: TestUser) -> None:
    response = await rpc_client.post("/v2/rpc/echo", data=json.dumps("x" * 4096), headers=user.auth)
    assert response.status == 400
    assert await response.read() == b'{"code":3, "message":"http: request body too large"}'


async def test_other_methods_are_501(rpc_client: Client, user: TestUser) -> None:
    response = await rpc_client.put("/v2/rpc/echo", headers=user.auth)
    assert response.status == 501
    assert await response.json() == {"code": 12, "message": "Method Not Allowed"}


async def test_gzip_bodies_and_the_common_headers(rpc_client: Client, user: TestUser) -> None:
    import gzip

    response = await rpc_client.post("/v2/rpc/echo", data=gzip.compress(b'"zipped"'),
                                     headers={**user.auth, "Content-Encoding": "gzip", "Origin": "null"})
    assert await response.json() == {"payload": "zipped"}
    assert response.headers["Cache-Control"] == "no-store, no-cache, must-revalidate"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# --- errors from functions ------------------------------------------------------------


async def test_a_nakama_error_keeps_its_code_and_message(rpc_client: Client, user: TestUser) -> None:
    response = await rpc_client.post("/v2/rpc/fail", headers=user.auth)
    assert response.status == 404
    assert await response.read() == b'{"code":5,"error":{"Message":"no such race","Code":5},"message":"no such race"}'


async def test_codes_outside_1_to_16_become_13(rpc_client: Client, user: TestUser) -> None:
    response = await rpc_client.post("/v2/rpc/odd_code", headers=user.auth)
    assert response.status == 500
    assert (await response.json())["code"] == Code.INTERNAL


async def test_any_other_exception_is_a_generic_13_and_its_traceback_is_logged(
        rpc_client: Client, user: TestUser, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="nakama_py.runtime"):
        response = await rpc_client.post("/v2/rpc/crash", headers=user.auth)
    assert response.status == 500
    body = await response.read()
    assert body == b'{"code":13,"error":{},"message":"Internal Server Error"}'
    record = next(r for r in caplog.records if r.getMessage() == "RPC function failed")
    assert record.exc_info is not None and "hunter2" in str(record.exc_info[1])
    assert record.fields == {"module": "calls", "rpc_id": "crash"}  # type: ignore[attr-defined]


async def test_a_result_that_is_not_a_string_is_13(rpc_client: Client, user: TestUser) -> None:
    response = await rpc_client.post("/v2/rpc/not_a_string", headers=user.auth)
    assert response.status == 500
    assert (await response.json())["message"] == ("Runtime function returned invalid data - only allowed one "
                                                  "return value of type String/Byte.")


async def test_rate_limited_is_429_with_retry_after(rpc_client: Client, user: TestUser) -> None:
    response = await rpc_client.post("/v2/rpc/limited", headers=user.auth)
    assert response.status == 429
    assert response.headers["Retry-After"] == "3"
    assert (await response.json())["message"] == "Too many submissions; retry in 2.5 seconds."


# --- ctx fields --------------------------------------------------------------------------


async def test_ctx_of_a_session_call(rpc_client: Client, rpc_state: ServerState, user: TestUser) -> None:
    response = await rpc_client.post(
        "/v2/rpc/context?unwrap&tag=a&tag=b&payload=q", data=b"raw",
        headers={**user.auth, "x-custom-header": "one", "X-Forwarded-For": "203.0.113.7, 10.0.0.1",
                 "Content-Type": "text/plain"})
    ctx = json.loads(await response.read())
    assert ctx["execution_mode"] == "rpc"
    assert ctx["env"] == {"region": "eu", "mode": "test"}
    assert ctx["node"] == "node7"
    assert ctx["version"] == rpc_state.version
    assert ctx["headers"]["Authorization"] == [f"Bearer {user.token}"]
    assert ctx["headers"]["X-Custom-Header"] == ["one"]
    assert ctx["query_params"] == {"unwrap": [""], "tag": ["a", "b"], "payload": ["q"]}
    assert ctx["payload"] == "raw"
    assert ctx["client_ip"] == "203.0.113.7" and ctx["client_port"] is None
    assert ctx["user_id"] == user.user_id
    assert ctx["writable"] is False


async def test_ctx_of_an_http_key_call(rpc_client: Client) -> None:
    ctx = await payload_of(await rpc_client.get(f"/v2/rpc/context?http_key={HTTP_KEY}&x=1"))
    assert ctx["query_params"] == {"x": ["1"]}           # the http key itself is left out
    assert ctx["user_id"] is None and ctx["vars"] == {}
    assert ctx["client_ip"] == "127.0.0.1"
    assert ctx["client_port"].isdigit()


# --- measurement ----------------------------------------------------------------------------


async def test_each_rpc_is_counted_and_timed_by_id_and_code(rpc_client: Client, rpc_state: ServerState,
                                                             user: TestUser) -> None:
    for _ in range(3):
        await rpc_client.post("/v2/rpc/echo", headers=user.auth)
    await rpc_client.post("/v2/rpc/fail", headers=user.auth)
    await rpc_client.post("/v2/rpc/unknown", headers=user.auth)
    rpc_state.metrics.flush()  # meters hand their counts over in batches (as before any exposition)
    registry = rpc_state.metrics.registry
    assert registry.get_sample_value("nakama_rpc_requests_total", {"id": "echo", "code": "0"}) == 3
    assert registry.get_sample_value("nakama_rpc_requests_total", {"id": "fail", "code": "5"}) == 1
    assert registry.get_sample_value("nakama_rpc_duration_seconds_count", {"id": "echo"}) == 3
    assert registry.get_sample_value("nakama_rpc_in_flight", {"id": "echo"}) == 0
    assert registry.get_sample_value("nakama_rpc_requests_total", {"id": "unknown", "code": "5"}) is None


@pytest.mark.parametrize(("forwarded", "peer", "proxies", "expected"), [
    (None, ("127.0.0.1", 5555), 1, ("127.0.0.1", "5555")),
    ("203.0.113.7", None, 1, ("203.0.113.7", None)),
    ("203.0.113.7, 10.0.0.1", None, 1, ("203.0.113.7", None)),       # one trusted proxy stepped over
    ("203.0.113.7, 10.0.0.1", None, 0, ("10.0.0.1", None)),
    ("198.51.100.1, 203.0.113.7, 10.0.0.1", None, 2, ("198.51.100.1", None)),
    ("203.0.113.7, 127.0.0.1", None, 1, ("203.0.113.7", None)),      # a local proxy is never the client
    ("203.0.113.7:8080", None, 1, ("203.0.113.7", "8080")),
    ("[2001:db8::1]:4711", None, 1, ("2001:db8::1", "4711")),
    ("2001:db8::2", None, 1, ("2001:db8::2", None)),
    ("not-an-address, ", None, 1, (None, None)),
])
def test_client_address(forwarded: str | None, peer: tuple[str, int] | None, proxies: int,
                        expected: tuple[str | None, str | None]) -> None:
    from nakama_py.runtime.client_address import client_address

    assert client_address(forwarded, peer, proxies) == expected
