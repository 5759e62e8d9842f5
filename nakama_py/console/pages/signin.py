"""Signing in and out of the console."""

from __future__ import annotations

import math

from aiohttp import web

from nakama_py.console.audit import audit
from nakama_py.console.context import SESSION, console_of, current_user, render
from nakama_py.console.sessions import COOKIE

routes = web.RouteTableDef()


@routes.get("/signin")
async def signin_form(request: web.Request) -> web.StreamResponse:
    return render(request, "signin.html", failure="", username="")


@routes.post("/signin")
async def signin(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    form = await request.post()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    # Nakama's login attempt limits, shared with player sign-ins and across processes and nodes.
    attempt = console.state.accounts.login_attempts.console_attempt(request.remote)
    wait = math.ceil(attempt.locked_for(username))
    if wait:
        response = render(request, "signin.html", status=429, username=username,
                          failure=f"Too many failed sign-ins: try again in {wait} s.")
        response.headers["Retry-After"] = str(wait)
        return response
    user = await console.users.authenticate(username, password)
    if user is None:
        await attempt.failed()
        audit(username or "-", "sign-in refused", address=request.remote)
        return render(request, "signin.html", status=401, username=username,
                      failure="Invalid username or password.")
    await attempt.succeeded()
    audit(user.username, "signed in", address=request.remote, role=user.role.label)
    response = web.HTTPSeeOther("/status")
    response.set_cookie(COOKIE, console.tokens.issue(user.username), max_age=console.tokens.expiry_sec,
                        httponly=True, samesite="Strict", path="/")
    raise response


@routes.post("/signout")
async def signout(request: web.Request) -> web.StreamResponse:
    # Behind the gate (not a public path): only a signed-in page's form can sign out.
    session = request[SESSION]
    console_of(request).tokens.sign_out(session)
    audit(current_user(request).username, "signed out", session=session.session_id)
    response = web.HTTPSeeOther("/signin")
    response.del_cookie(COOKIE, path="/")
    raise response
