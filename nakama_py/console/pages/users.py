"""Console users (admins only): who may sign in to the console, with which role."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from nakama_py.console.audit import audit
from nakama_py.console.context import back, console_of, may, render
from nakama_py.core.console_users import Permission, Role
from nakama_py.errors import NakamaError

routes = web.RouteTableDef()


@routes.get("/users")
async def users_page(request: web.Request) -> web.StreamResponse:
    may(request, Permission.MANAGE_USERS)
    return render(request, "users.html", users=await console_of(request).users.list(), roles=list(Role))


@routes.post("/users")
async def add_user(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.MANAGE_USERS)
    form = await request.post()
    try:
        created = await console_of(request).users.create(
            str(form.get("username", "")), str(form.get("password", "")), int(str(form.get("role", "4"))),
            str(form.get("email", "")))
    except (NakamaError, ValueError) as exc:
        raise back("/users", err=f"Not added: {getattr(exc, 'message', exc)}") from None
    audit(operator.username, "added a console user", username=created.username, role=created.role.label)
    raise back("/users", msg=f"Added {created.username} ({created.role.label}).")


@routes.post("/users/{username}/delete")
async def delete_user(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.MANAGE_USERS)
    username = request.match_info["username"]
    await console_of(request).users.delete(username)
    audit(operator.username, "deleted a console user", username=username)
    raise back("/users", msg=f"Deleted {quote(username)}.")
