"""Forged, confused, expired and orphaned tokens: 401 with Nakama's messages on HTTP, no socket upgrade.

Every forgery starts from a real session of a real user, so the only thing wrong with it is the
one thing the test names."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import aiohttp
import pytest
from jwt.utils import base64url_encode

from nakama_py.state import ServerState
from tests.support.auth import Client, basic, bearer, claims_of, sign_in_custom

SESSION_KEY = "defaultencryptionkey"
REFRESH_KEY = "defaultrefreshencryptionkey"
AUTH_TOKEN_INVALID = {"code": 16, "message": "Auth token invalid"}
# The RPC route answers outside the gateway's error handler, with Nakama's "error" field too.
RPC_AUTH_TOKEN_INVALID = {"error": "Auth token invalid", "message": "Auth token invalid", "code": 16}
REFRESH_INVALID = {"code": 16, "message": "Refresh token invalid or expired."}


def forge(claims: dict[str, Any], *, key: str = SESSION_KEY, alg: str = "HS256",
          digest: Any = hashlib.sha256, signature: bytes | None = None) -> str:
    header = base64url_encode(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = base64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = header + b"." + body
    if signature is None:
        signature = hmac.new(key.encode(), signing_input, digest).digest()
    return (signing_input + b"." + base64url_encode(signature)).decode()


async def refused_everywhere(client: Client, token: str) -> None:
    """An account read, an RPC and a socket upgrade all refuse the token as Nakama does."""
    response = await client.get("/v2/account", headers=bearer(token))
    assert (response.status, await response.json()) == (401, AUTH_TOKEN_INVALID)
    response = await client.post("/v2/rpc/anything", headers=bearer(token), json="{}")
    assert (response.status, await response.json()) == (401, RPC_AUTH_TOKEN_INVALID)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(f"/ws?token={token}")
    assert refused.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers=bearer(token))
    assert refused.value.status == 401


async def session(client: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    issued = await sign_in_custom(client, f"tok-{uuid.uuid4().hex[:10]}")
    return issued, claims_of(issued["token"])


async def test_the_genuine_token_works_so_each_refusal_below_is_about_one_change(client: Client) -> None:
    issued, claims = await session(client)
    for token in (issued["token"], forge(claims)):
        assert (await client.get("/v2/account", headers=bearer(token))).status == 200
        socket = await client.ws_connect(f"/ws?token={token}")
        await socket.close()


async def test_alg_none_is_refused(client: Client) -> None:
    _, claims = await session(client)
    header = base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = base64url_encode(json.dumps(claims).encode()).decode()
    for token in (f"{header}.{body}.", f"{header}.{body}", forge(claims, alg="none", signature=b"")):
        await refused_everywhere(client, token)


async def test_algorithm_confusion_is_refused(client: Client) -> None:
    _, claims = await session(client)
    # HS512 with the right key, an RS256 header over an HS256 signature, and the same for the refresh key.
    await refused_everywhere(client, forge(claims, alg="HS512", digest=hashlib.sha512))
    await refused_everywhere(client, forge(claims, alg="RS256"))
    await refused_everywhere(client, forge(claims, alg="ES256"))
    await refused_everywhere(client, forge(claims, alg="hs256"))


async def test_refresh_token_is_not_a_session_token_and_back(client: Client) -> None:
    issued, claims = await session(client)
    await refused_everywhere(client, issued["refresh_token"])
    await refused_everywhere(client, forge(claims, key=REFRESH_KEY))
    response = await client.post("/v2/account/session/refresh", headers=basic(), json={"token": issued["token"]})
    assert (response.status, await response.json()) == (401, REFRESH_INVALID)
    refresh_claims = claims_of(issued["refresh_token"])
    none_header = base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    for forged in (forge(refresh_claims, alg="HS512", key=REFRESH_KEY, digest=hashlib.sha512),
                   forge(refresh_claims, key=SESSION_KEY),
                   forge({**refresh_claims, "uid": str(uuid.uuid4())}, signature=b"x" * 32),
                   f"{none_header}.{base64url_encode(json.dumps(refresh_claims).encode()).decode()}.",
                   forge({**refresh_claims, "exp": int(time.time())}, key=REFRESH_KEY)):
        response = await client.post("/v2/account/session/refresh", headers=basic(), json={"token": forged})
        assert (response.status, await response.json()) == (401, REFRESH_INVALID)
    response = await client.post("/v2/account/session/refresh", headers=basic(),
                                 json={"token": forge(refresh_claims, key=REFRESH_KEY)})
    assert response.status == 200  # the same claims, rightly signed: the refusals above are about the change


async def test_tampered_claims_are_refused(client: Client) -> None:
    issued, claims = await session(client)
    header, _, signature = issued["token"].split(".")
    for change in ({"uid": str(uuid.uuid4())}, {"exp": claims["exp"] + 3600}, {"usn": "admin"},
                   {"vrs": {"role": "admin"}}):
        body = base64url_encode(json.dumps({**claims, **change}).encode()).decode()
        await refused_everywhere(client, f"{header}.{body}.{signature}")
    # A flipped bit in the signature, and a truncated one.
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    await refused_everywhere(client, f"{header}.{issued['token'].split('.')[1]}.{flipped}")
    await refused_everywhere(client, issued["token"][:-4])


async def test_expiry_edges(client: Client) -> None:
    _, claims = await session(client)
    now = int(time.time())
    await refused_everywhere(client, forge({**claims, "exp": now}))          # exp == now: expired, as Nakama
    await refused_everywhere(client, forge({**claims, "exp": now - 1}))
    without_exp = {key: value for key, value in claims.items() if key != "exp"}
    await refused_everywhere(client, forge(without_exp))
    await refused_everywhere(client, forge({**claims, "exp": str(now + 600)}))
    await refused_everywhere(client, forge({**claims, "exp": now + 600.5}))
    await refused_everywhere(client, forge({**claims, "uid": "not-a-uuid"}))
    assert (await client.get("/v2/account", headers=bearer(forge({**claims, "exp": now + 600})))).status == 200


async def test_tokens_of_a_deleted_user_are_refused(client: Client) -> None:
    issued, _ = await session(client)
    assert (await client.delete("/v2/account", headers=bearer(issued["token"]))).status == 200
    await refused_everywhere(client, issued["token"])
    response = await client.post("/v2/account/session/refresh", headers=basic(),
                                 json={"token": issued["refresh_token"]})
    assert (response.status, await response.json()) == (401, REFRESH_INVALID)


async def test_tokens_of_a_banned_user_are_refused(client: Client, state: ServerState) -> None:
    issued, claims = await session(client)
    await state.accounts.ban(claims["uid"])
    await refused_everywhere(client, issued["token"])
    response = await client.post("/v2/account/session/refresh", headers=basic(),
                                 json={"token": issued["refresh_token"]})
    assert (response.status, await response.json()) == (401, REFRESH_INVALID)


async def test_wrong_keys_of_any_text_answer_401(client: Client) -> None:
    """Keys are compared as bytes in constant time: a near miss, a longer key or non-ASCII text is a 401."""
    for key in ("defaultke", "defaultkeyX", "défaultkey", "ключ"):
        response = await client.post("/v2/account/authenticate/custom", headers=basic(key),
                                     json={"id": f"key-{uuid.uuid4().hex[:10]}"})
        assert (response.status, await response.json()) == (401, {"code": 16, "message": "Server key invalid"})
    for key in ("defaulthttpke", "défaulthttpkey"):
        response = await client.post("/v2/rpc/anything", params={"http_key": key}, json="{}")
        assert response.status == 401 and (await response.json())["message"] == "HTTP key invalid"
        response = await client.post("/v2/rpc/anything", headers=basic(key), json="{}")
        assert response.status == 401 and (await response.json())["message"] == "HTTP key invalid"
