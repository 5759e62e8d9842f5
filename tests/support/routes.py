"""Calling routes of the in-process application as a signed-in user, for route tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.support.users import TestUser

Client = TestClient[web.Request, web.Application]
MakeUser = Callable[..., Any]


async def call(client: Client, method: str, path: str, user: TestUser | None, body: Any = None,
               **params: Any) -> tuple[int, Any]:
    """The status and decoded JSON body of one request (``user`` None: no credentials)."""
    response = await client.request(method, path, headers=user.auth if user else {},
                                    data=None if body is None else orjson.dumps(body), params=params or None)
    return response.status, await response.json()


def error(message: str, code: int = 3) -> dict[str, Any]:
    """Nakama's error body."""
    return {"code": code, "message": message}
