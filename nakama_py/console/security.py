"""The console's gate: a signed-in session on every page but sign-in, a CSRF token on every change,
and headers that keep the pages from being framed or running scripts from elsewhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from nakama_py.console.context import SESSION, USER, console_of, render
from nakama_py.console.sessions import COOKIE
from nakama_py.errors import Code, NakamaError
from nakama_py.wire.status import http_status

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PREFIXES = ("/static/", "/signin")
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
                               " frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


async def _csrf_ok(request: web.Request) -> bool:
    console = console_of(request)
    token = request.headers.get(CSRF_HEADER, "")
    if not token and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        token = str((await request.post()).get(CSRF_FIELD, ""))
    return bool(token) and console.tokens.csrf_ok(request[SESSION], token)


@web.middleware
async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await _gate(request, handler)
    for name, value in SECURITY_HEADERS.items():
        if not request.path.startswith("/static/") or name != "Cache-Control":
            response.headers.setdefault(name, value)
    return response


async def _gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    console = console_of(request)
    session = console.tokens.verify(request.cookies.get(COOKIE, ""))
    user = await console.users.get(session.username) if session else None
    if session is None or user is None:
        if request.method == "GET":
            raise web.HTTPSeeOther("/signin")
        raise web.HTTPUnauthorized(text="Sign in again.")
    request[SESSION], request[USER] = session, user
    if request.method not in ("GET", "HEAD") and not await _csrf_ok(request):
        raise web.HTTPForbidden(text="The form has expired (CSRF check failed): reload the page and try again.")
    try:
        return await handler(request)
    except NakamaError as exc:
        status = http_status(exc.code)
        if request.headers.get("Accept", "").startswith("application/json"):
            return web.json_response({"code": exc.code, "message": exc.message}, status=status)
        return render(request, "error.html", status=status, code=Code(exc.code).name, reason=exc.message)
