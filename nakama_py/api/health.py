"""``GET /`` and ``GET /healthcheck``."""

from __future__ import annotations

from aiohttp import web

from nakama_py.api.caller import state_of
from nakama_py.errors import Code
from nakama_py.wire.response import empty_response, error_response


async def root(request: web.Request) -> web.Response:
    return web.Response(status=200)


async def healthcheck(request: web.Request) -> web.Response:
    if await state_of(request).db.ping():
        return empty_response()
    return error_response(Code.UNAVAILABLE, "Database is unreachable.")


ROUTES = [
    web.get("/", root),
    web.get("/healthcheck", healthcheck),
]
