"""API explorer: call an RPC of this node's API as a chosen user (a session minted for them) or with the
http key, and show the raw request and reply.

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


async def call_rpc(state: ServerState, rpc_id: str, payload: str, *, as_user: str) -> Exchange:
    path = f"/v2/rpc/{quote(rpc_id, safe='')}?unwrap"
    headers = {"Content-Type": "application/json"}
    if as_user:
        headers["Authorization"] = f"Bearer {(await state.accounts.operator_session(as_user)).token}"
        shown_auth = "Authorization: Bearer <session of " + as_user + ">"
    else:
        path += "&http_key=" + quote(state.config.runtime.http_key, safe="")
        shown_auth = "(http_key=<runtime.http_key> in the query)"
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT_SEC)) as session, \
            session.post(_api_base(state) + path, data=payload.encode(), headers=headers) as response:
        body = await response.read()
        elapsed = (time.perf_counter() - started) * 1000
        reply_headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    shown_path = path.split("&http_key=")[0]
    request_text = f"POST {shown_path}\n{shown_auth}\nContent-Type: application/json\n\n{payload}"
    text = body[:MAX_SHOWN_BYTES].decode(errors="replace")
    return Exchange(request_text, response.status, f"HTTP {response.status}\n{reply_headers}\n\n{text}",
                    round(elapsed, 1))


@routes.get("/explorer")
async def explorer_form(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    state = console_of(request).state
    return render(request, "explorer.html", rpcs=sorted(state.runtime.registry.rpcs),
                  rpc_id=request.query.get("rpc", ""), as_user=request.query.get("user", ""), payload="{}",
                  exchange=None)


@routes.post("/explorer")
async def explorer_call(request: web.Request) -> web.StreamResponse:
    user = may(request, Permission.CALL_API)
    state = console_of(request).state
    form = await request.post()
    rpc_id, as_user = str(form.get("rpc", "")).strip(), str(form.get("as_user", "")).strip()
    payload = str(form.get("payload", "")) or "{}"
    if not rpc_id:
        raise invalid_argument("Choose an RPC.")
    audit(user.username, "called an RPC", rpc=rpc_id, as_user=as_user or "http_key")
    exchange = await call_rpc(state, rpc_id, payload, as_user=as_user)
    return render(request, "explorer.html", rpcs=sorted(state.runtime.registry.rpcs), rpc_id=rpc_id,
                  as_user=as_user, payload=payload, exchange=exchange)
