"""``POST /v2/account/session/refresh`` (server key) and ``POST /v2/session/logout`` (bearer)."""

from __future__ import annotations

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.caller import bearer_session, require_server_key, state_of
from nakama_py.route_hooks import Message
from nakama_py.wire.encoding import compact
from nakama_py.wire.request import get_str, get_str_map, read_body
from nakama_py.wire.response import empty_response, json_response


async def session_refresh(request: web.Request) -> web.Response:
    body = await read_body(request)
    message: Message = compact({"token": get_str(body, "token"), "vars": dict(get_str_map(body, "vars"))})
    require_server_key(request)
    message = await hooks.before(request, "SessionRefresh", message)

    accounts = state_of(request).accounts
    session = await accounts.refresh_session(get_str(message, "token"), get_str_map(message, "vars"))
    reply = {"token": session.token, "refresh_token": session.refresh_token}
    await hooks.after(request, "SessionRefresh", message, reply)
    return json_response(reply)


async def session_logout(request: web.Request) -> web.Response:
    body = await read_body(request)
    message: Message = compact({"token": get_str(body, "token"), "refresh_token": get_str(body, "refresh_token")})
    caller = bearer_session(request)
    message = await hooks.before(request, "SessionLogout", message)

    await state_of(request).sessions.logout(caller, get_str(message, "token"), get_str(message, "refresh_token"))
    await hooks.after(request, "SessionLogout", message, {})
    return empty_response()


ROUTES = [
    web.post("/v2/account/session/refresh", session_refresh),
    web.post("/v2/session/logout", session_logout),
]
