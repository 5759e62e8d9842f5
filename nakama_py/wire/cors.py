"""CORS exactly as Nakama's gorilla/handlers wrapper answers it.

Allowed: any origin, methods GET/HEAD/POST/PUT/DELETE, headers Authorization,
Content-Type and User-Agent. Requests without an Origin pass untouched, except
an OPTIONS without Origin, which gets an empty 200 and is never routed.
"""

from __future__ import annotations

from aiohttp import web

from nakama_py.wire.request_view import RequestView

ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE"})
SIMPLE_METHODS = frozenset({"GET", "HEAD", "POST"})
ALLOWED_HEADERS = frozenset({"Authorization", "Content-Type", "User-Agent"})
ALWAYS_ALLOWED_HEADERS = frozenset({"Accept", "Accept-Language", "Content-Language", "Origin"})


def canonical_header(name: str) -> str:
    """Go's http.CanonicalHeaderKey for plain ASCII names."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def preflight(request: RequestView) -> web.Response:
    """The answer to any OPTIONS request; it never reaches a handler."""
    origin = request.headers.get("Origin")
    if not origin:
        return web.Response(status=200)
    if "Access-Control-Request-Method" not in request.headers:
        return web.Response(status=400)
    method = request.headers["Access-Control-Request-Method"]
    if method not in ALLOWED_METHODS:
        return web.Response(status=405)
    echoed: list[str] = []
    for raw in request.headers.get("Access-Control-Request-Headers", "").split(","):
        name = canonical_header(raw.strip())
        if not name or name in ALWAYS_ALLOWED_HEADERS:
            continue
        if name not in ALLOWED_HEADERS:
            return web.Response(status=403)
        echoed.append(name)
    response = web.Response(status=200)
    if echoed:
        response.headers["Access-Control-Allow-Headers"] = ",".join(echoed)
    if method not in SIMPLE_METHODS:
        response.headers["Access-Control-Allow-Methods"] = method
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def decorate(request: RequestView, response: web.StreamResponse) -> None:
    """Mark an ordinary (non-preflight) response, error responses included."""
    if request.headers.get("Origin"):
        response.headers["Access-Control-Allow-Origin"] = "*"
