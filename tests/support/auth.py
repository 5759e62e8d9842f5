"""Helpers for tests that sign in over HTTP: the server-key header, bearer headers, token claims."""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

SERVER_KEY = "defaultkey"
Client = TestClient[web.Request, web.Application]


def basic(key: str = SERVER_KEY, password: str = "") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A JWT's header and claims (unverified), and the claims segment as sent."""
    header_b64, claims_b64, _ = token.split(".")

    def decode(segment: str) -> Any:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))

    return decode(header_b64), decode(claims_b64), claims_b64


def claims_of(token: str) -> dict[str, Any]:
    return token_parts(token)[1]


async def authenticate(client: Client, kind: str, body: Any = None, *, query: str = "",
                       headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """POST /v2/account/authenticate/<kind>?<query> with the server key; (status, JSON body)."""
    kwargs: dict[str, Any] = {"headers": basic() if headers is None else headers}
    if isinstance(body, (bytes, str)):
        kwargs["data"] = body
    elif body is not None:
        kwargs["json"] = body
    url = f"/v2/account/authenticate/{kind}" + (f"?{query}" if query else "")
    response = await client.post(url, **kwargs)
    return response.status, await response.json()


async def sign_in_custom(client: Client, custom_id: str, **query: str) -> dict[str, Any]:
    """A session for a custom ID (created when new); fails the test on any error."""
    status, body = await authenticate(client, "custom", {"id": custom_id},
                                      query="&".join(f"{k}={v}" for k, v in query.items()))
    assert status == 200, body
    return body
