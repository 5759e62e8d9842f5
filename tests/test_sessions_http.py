"""POST /v2/account/session/refresh and POST /v2/session/logout, and bearer-token checks, over HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from nakama_py.app import build_app
from nakama_py.core.tokens import SessionClaims, TokenCodec, uuid7
from nakama_py.state import ServerState, build_state
from tests.conftest import ConfigFactory
from tests.support.auth import Client, authenticate, basic, bearer, claims_of, sign_in_custom
from tests.support.wire_server import WireTestServer


def error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


async def refresh(client: Client, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    response = await client.post("/v2/account/session/refresh", json=body,
                                 headers=basic() if headers is None else headers)
    return response.status, await response.json()


async def logout(client: Client, token: str, body: Any) -> tuple[int, Any]:
    response = await client.post("/v2/session/logout", json=body, headers=bearer(token))
    return response.status, await response.json()


async def account_status(client: Client, token: str) -> int:
    return (await client.get("/v2/account", headers=bearer(token))).status


# --- refresh ------------------------------------------------------------------------------------


async def test_refresh_keeps_token_id_and_issue_time_with_a_fresh_expiry(client: Client) -> None:
    session = await sign_in_custom(client, f"refresh-{uuid.uuid4().hex[:8]}")
    await asyncio.sleep(1.1)  # so the new expiry differs from the old one
    status, body = await refresh(client, {"token": session["refresh_token"], "vars": {}})
    assert status == 200
    assert list(body) == ["token", "refresh_token"]  # no "created"
    old, new = claims_of(session["token"]), claims_of(body["token"])
    assert new["uid"] == old["uid"] and new["tid"] == old["tid"] and new["iat"] == old["iat"]
    assert new["exp"] > old["exp"]
    assert claims_of(body["refresh_token"])["exp"] > claims_of(session["refresh_token"])["exp"]
    assert body["token"] != session["token"]
    assert await account_status(client, body["token"]) == 200


async def test_refresh_tokens_are_reusable(client: Client) -> None:
    session = await sign_in_custom(client, f"reuse-{uuid.uuid4().hex[:8]}")
    for _ in range(3):
        status, _ = await refresh(client, {"token": session["refresh_token"]})
        assert status == 200


async def test_refresh_vars(client: Client) -> None:
    _, session = await authenticate(client, "custom", {"id": f"vars-{uuid.uuid4().hex[:8]}", "vars": {"a": "1"}})
    _, kept = await refresh(client, {"token": session["refresh_token"], "vars": {}})
    assert claims_of(kept["token"])["vrs"] == {"a": "1"}
    _, missing = await refresh(client, {"token": session["refresh_token"]})
    assert claims_of(missing["token"])["vrs"] == {"a": "1"}
    _, replaced = await refresh(client, {"token": session["refresh_token"], "vars": {"b": "2"}})
    assert claims_of(replaced["token"])["vrs"] == {"b": "2"}
    assert claims_of(replaced["refresh_token"])["vrs"] == {"b": "2"}


async def test_refresh_picks_up_a_new_username(client: Client) -> None:
    session = await sign_in_custom(client, f"rename-{uuid.uuid4().hex[:8]}")
    new_name = "renamed_" + uuid.uuid4().hex[:8]
    response = await client.put("/v2/account", json={"username": new_name}, headers=bearer(session["token"]))
    assert response.status == 200
    assert claims_of(session["token"])["usn"] != new_name
    _, body = await refresh(client, {"token": session["refresh_token"]})
    assert claims_of(body["token"])["usn"] == new_name


async def test_refresh_rules(client: Client, state: ServerState) -> None:
    session = await sign_in_custom(client, f"rules-{uuid.uuid4().hex[:8]}")
    invalid = (401, error(16, "Refresh token invalid or expired."))
    assert await refresh(client, {"token": ""}) == (400, error(3, "Refresh token is required."))
    assert await refresh(client, {}) == (400, error(3, "Refresh token is required."))
    assert await refresh(client, {"token": "not.a.jwt"}) == invalid
    assert await refresh(client, {"token": session["token"]}) == invalid  # a session token is signed with another key
    claims = claims_of(session["refresh_token"])
    now = int(time.time())
    expired = TokenCodec(state.config.session.refresh_encryption_key, 3600).encode(
        SessionClaims(uuid7(), claims["uid"], claims["usn"], {}, now - 1, now - 3601))
    assert await refresh(client, {"token": expired}) == invalid
    assert await refresh(client, {"token": session["refresh_token"]}, headers={}) == (
        401, error(16, "Server key required"))
    assert await refresh(client, {"token": session["refresh_token"]}, headers=basic("wrong")) == (
        401, error(16, "Server key invalid"))
    assert await refresh(client, {"refreshToken": session["refresh_token"]}) == (
        400, error(3, "Refresh token is required."))  # the field is "token"


async def test_refresh_for_a_missing_or_banned_account(client: Client, state: ServerState) -> None:
    gone = await sign_in_custom(client, f"gone-{uuid.uuid4().hex[:8]}")
    banned = await sign_in_custom(client, f"banned-{uuid.uuid4().hex[:8]}")
    await state.db.execute("DELETE FROM users WHERE id = %s", (claims_of(gone["token"])["uid"],))
    await state.db.execute("UPDATE users SET disable_time = now() WHERE id = %s", (claims_of(banned["token"])["uid"],))
    assert await refresh(client, {"token": gone["refresh_token"]}) == (404, error(5, "User account not found."))
    assert await refresh(client, {"token": banned["refresh_token"]}) == (403, error(7, "User account banned."))


# --- bearer tokens ------------------------------------------------------------------------------


async def test_bearer_token_checks(client: Client, state: ServerState) -> None:
    session = await sign_in_custom(client, f"bearer-{uuid.uuid4().hex[:8]}")
    response = await client.get("/v2/account")
    assert (response.status, await response.json()) == (401, error(16, "Auth token required"))
    for header in ({"Authorization": "Basic " + session["token"]}, {"Authorization": "Bearer garbage"},
                   {"Authorization": "bearer " + session["token"]}, bearer(session["refresh_token"])):
        response = await client.get("/v2/account", headers=header)
        assert (response.status, await response.json()) == (401, error(16, "Auth token invalid"))
    claims = claims_of(session["token"])
    now = int(time.time())
    expired = TokenCodec(state.config.session.encryption_key, 60).encode(
        SessionClaims(uuid7(), claims["uid"], claims["usn"], {}, now - 1, now - 61))
    response = await client.get("/v2/account", headers=bearer(expired))
    assert (response.status, await response.json()) == (401, error(16, "Auth token invalid"))


# --- logout -------------------------------------------------------------------------------------


async def test_logout_refuses_both_tokens_afterwards(client: Client) -> None:
    session = await sign_in_custom(client, f"logout-{uuid.uuid4().hex[:8]}")
    assert await account_status(client, session["token"]) == 200
    assert await logout(client, session["token"], {"token": session["token"],
                                                   "refresh_token": session["refresh_token"]}) == (200, {})
    response = await client.get("/v2/account", headers=bearer(session["token"]))
    assert (response.status, await response.json()) == (401, error(16, "Auth token invalid"))
    assert await refresh(client, {"token": session["refresh_token"]}) == (
        401, error(16, "Refresh token invalid or expired."))


async def test_logout_of_one_session_leaves_the_others(client: Client) -> None:
    custom_id = f"multi-{uuid.uuid4().hex[:8]}"
    first = await sign_in_custom(client, custom_id)
    second = await sign_in_custom(client, custom_id)
    assert await logout(client, first["token"], {"token": first["token"],
                                                 "refreshToken": first["refresh_token"]}) == (200, {})
    assert await account_status(client, first["token"]) == 401
    assert await account_status(client, second["token"]) == 200


async def test_logout_of_the_session_token_only(client: Client) -> None:
    session = await sign_in_custom(client, f"half-{uuid.uuid4().hex[:8]}")
    assert await logout(client, session["token"], {"token": session["token"]}) == (200, {})
    assert await account_status(client, session["token"]) == 401
    status, renewed = await refresh(client, {"token": session["refresh_token"]})
    assert status == 200
    # Nakama revokes by token ID, and a refresh keeps the token ID: the renewed session is refused too.
    assert await account_status(client, renewed["token"]) == 401


async def test_logout_without_tokens_revokes_every_session(client: Client) -> None:
    custom_id = f"all-{uuid.uuid4().hex[:8]}"
    first = await sign_in_custom(client, custom_id)
    second = await sign_in_custom(client, custom_id)
    assert await logout(client, first["token"], {}) == (200, {})
    for session in (first, second):
        assert await account_status(client, session["token"]) == 401
        assert (await refresh(client, {"token": session["refresh_token"]}))[0] == 401
    later = await sign_in_custom(client, custom_id)
    assert await account_status(client, later["token"]) == 200


async def test_logout_rules(client: Client) -> None:
    mine = await sign_in_custom(client, f"mine-{uuid.uuid4().hex[:8]}")
    theirs = await sign_in_custom(client, f"theirs-{uuid.uuid4().hex[:8]}")
    session_invalid = (400, error(3, "Session token invalid."))
    refresh_invalid = (400, error(3, "Refresh token invalid."))
    assert await logout(client, mine["token"], {"token": theirs["token"]}) == session_invalid
    assert await logout(client, mine["token"], {"token": "garbage"}) == session_invalid
    assert await logout(client, mine["token"], {"token": mine["refresh_token"]}) == session_invalid
    assert await logout(client, mine["token"], {"refresh_token": theirs["refresh_token"]}) == refresh_invalid
    assert await logout(client, mine["token"], {"refresh_token": mine["token"]}) == refresh_invalid
    # nothing was revoked by the refused requests
    assert await account_status(client, mine["token"]) == 200
    assert await account_status(client, theirs["token"]) == 200
    response = await client.post("/v2/session/logout", json={})
    assert (response.status, await response.json()) == (401, error(16, "Auth token required"))


async def test_logout_reaches_another_server_state_on_the_same_database(
        client: Client, make_config: ConfigFactory, database_url: str,
        aiohttp_client: Callable[..., Any]) -> None:
    other_state = await build_state(make_config(), database_url)
    try:
        other: Client = await aiohttp_client(WireTestServer(build_app(other_state)))
        session = await sign_in_custom(client, f"shared-{uuid.uuid4().hex[:8]}")
        assert await account_status(other, session["token"]) == 200
        assert await logout(client, session["token"], {"token": session["token"],
                                                       "refresh_token": session["refresh_token"]}) == (200, {})
        # the other state hears of it through LISTEN/NOTIFY, normally within milliseconds
        for _ in range(250):
            if await account_status(other, session["token"]) == 401:
                break
            await asyncio.sleep(0.02)
        assert await account_status(other, session["token"]) == 401
        assert (await refresh(other, {"token": session["refresh_token"]}))[0] == 401
    finally:
        await other_state.close()
