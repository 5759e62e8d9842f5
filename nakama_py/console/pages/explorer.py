"""API explorer: call an RPC or a route of this node's API as a chosen user (a session minted for them), or
with the http key (RPCs) or the server key (routes), and show the raw request and reply.

The call goes through the real HTTP API on ``socket.port``, so hooks, auth and error shapes are exactly
what a client gets."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
from aiohttp import web

from nakama_py.console.audit import audit
from nakama_py.console.context import console_of, may, render
from nakama_py.core.console_users import Permission
from nakama_py.errors import invalid_argument
from nakama_py.state import ServerState

routes = web.RouteTableDef()
CALL_TIMEOUT_SEC = 30
MAX_SHOWN_BYTES = 256 * 1024  # a bigger reply is cut in the page
METHODS = ("GET", "POST", "PUT", "DELETE")


@dataclass(frozen=True)
class Exchange:
    request: str
    status: int
    reply: str
    elapsed_ms: float


def _api_base(state: ServerState) -> str:
    address = state.config.socket.address
    host = "127.0.0.1" if address in ("", "0.0.0.0", "::") else address
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{state.config.socket.port}"


def _route(text: str) -> tuple[str, str]:
    """``"GET /v2/account"`` as (method, path) on this node's API."""
    method, _, path = text.strip().partition(" ")
    method, path = method.upper(), path.strip()
    if method not in METHODS or not path.startswith("/") or "://" in path:
        raise invalid_argument("A route is a method and a path on the API, e.g. GET /v2/account.")
    return method, path


async def call_api(state: ServerState, method: str, path: str, body: str, *, as_user: str,
                   rpc: bool) -> Exchange:
    """Send one request to this node's API as the user, else with the http key (RPCs) or the server key."""
    headers = {"Content-Type": "application/json"}
    secret_query = ""
    if as_user:
        headers["Authorization"] = f"Bearer {(await state.accounts.operator_session(as_user)).token}"
        shown_auth = f"Authorization: Bearer <a session of {as_user}>"
    elif rpc:
        secret_query = ("&" if "?" in path else "?") + "http_key=" + quote(state.config.runtime.http_key, safe="")
        shown_auth = "(http_key=<runtime.http_key> in the query)"
    else:
        headers["Authorization"] = aiohttp.BasicAuth(state.config.socket.server_key, "").encode()
        shown_auth = "Authorization: Basic <socket.server_key>"
    data = body.encode() if method != "GET" else None
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT_SEC)) as session, \
            session.request(method, _api_base(state) + path + secret_query, data=data, headers=headers) as response:
        reply = await response.read()
        elapsed = (time.perf_counter() - started) * 1000
        reply_headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    request_text = f"{method} {path}\n{shown_auth}\nContent-Type: application/json\n\n{body if data else ''}"
    text = reply[:MAX_SHOWN_BYTES].decode(errors="replace")
    return Exchange(request_text.rstrip() + "\n", response.status,
                    f"HTTP {response.status}\n{reply_headers}\n\n{text}", round(elapsed, 1))


@routes.get("/explorer")
async def explorer_form(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    state = console_of(request).state
    return render(request, "explorer.html", rpcs=sorted(state.runtime.registry.rpcs),
                  rpc_id=request.query.get("rpc", ""), route="", as_user=request.query.get("user", ""),
                  payload="{}", exchange=None)


@routes.post("/explorer")
async def explorer_call(request: web.Request) -> web.StreamResponse:
    user = may(request, Permission.CALL_API)
    state = console_of(request).state
    form = await request.post()
    rpc_id, route = str(form.get("rpc", "")).strip(), str(form.get("route", "")).strip()
    as_user, payload = str(form.get("as_user", "")).strip(), str(form.get("payload", "")) or "{}"
    if route:
        method, path = _route(route)
        audit(user.username, "called an API route", route=f"{method} {path}", as_user=as_user or "server_key")
        exchange = await call_api(state, method, path, payload, as_user=as_user, rpc=False)
    elif rpc_id:
        audit(user.username, "called an RPC", rpc=rpc_id, as_user=as_user or "http_key")
        exchange = await call_api(state, "POST", f"/v2/rpc/{quote(rpc_id, safe='')}?unwrap", payload,
                                  as_user=as_user, rpc=True)
    else:
        raise invalid_argument("Choose an RPC or a route.")
    return render(request, "explorer.html", rpcs=sorted(state.runtime.registry.rpcs), rpc_id=rpc_id, route=route,
                  as_user=as_user, payload=payload, exchange=exchange)
