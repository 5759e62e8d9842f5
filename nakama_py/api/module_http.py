"""Module HTTP routes (``initializer.register_http``, Nakama's RegisterHttp) on the API port.

Each registered path is an aiohttp route whose handler builds the module's ``HttpRequest``
(with the same session verification and http_key the server's routes use, for the module
to apply) and sends back the module's ``HttpResponse`` as it is. Errors a handler raises
take the gateway's shape, ``{"code": N, "message": "..."}`` with the code's HTTP status.
Every worker process loads the modules, so every process serves the same routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import MappingProxyType

from aiohttp import web

from nakama_py.errors import NakamaError
from nakama_py.runtime.context import HTTP, Context
from nakama_py.runtime.registry import HttpRouteEntry
from nakama_py.runtime.service import LoadedRuntime
from nakama_py.runtime.types import HttpRequest
from nakama_py.state import STATE
from nakama_py.wire.request import read_raw
from nakama_py.wire.response import from_error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _query(request: web.Request) -> MappingProxyType[str, tuple[str, ...]]:
    """Every query parameter with all its values (``http_key`` included: the module may check it)."""
    collected: dict[str, list[str]] = {}
    for name, value in request.query.items():
        collected.setdefault(name, []).append(value)
    return MappingProxyType({k: tuple(v) for k, v in collected.items()})


def _handler(entry: HttpRouteEntry) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        runtime = state.runtime
        ctx = Context(runtime.info, HTTP, None, request)
        try:
            body = await read_raw(request) if request.can_read_body else b""
        except web.HTTPRequestEntityTooLarge:
            return from_error(NakamaError("http: request body too large", 3))
        module_request = HttpRequest(
            method=request.method, path=request.path,
            path_params=MappingProxyType(dict(request.match_info)), query=_query(request),
            headers=ctx.headers, body=body, _verify_session=state.sessions.verify_session,
            _http_key=state.config.runtime.http_key)
        try:
            reply = await runtime.call_http(entry, ctx, module_request)
        except NakamaError as exc:
            return from_error(exc)
        response = web.Response(status=reply.status, headers=dict(reply.headers))
        if "Content-Type" not in response.headers and reply.status != 304:
            response.headers["Content-Type"] = reply.content_type
        if reply.body:
            response.body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        return response

    return handle


def routes(runtime: LoadedRuntime) -> list[web.RouteDef]:
    """One route per (path, method) the modules registered; ``*`` for a route of every method."""
    defs: list[web.RouteDef] = []
    for entry in runtime.http_routes:
        handler = _handler(entry)
        methods = entry.methods or ("*",)
        for method in methods:
            if method == "HEAD" and "GET" in methods:
                continue  # aiohttp answers HEAD with the GET route (the body left out)
            defs.append(web.route(method, entry.path, handler))
    return defs
