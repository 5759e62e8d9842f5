"""What every console handler may use: the server's services, console users, sessions, templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

from nakama_py.console.sessions import ConsoleSession, ConsoleTokens
from nakama_py.core.console_users import ConsoleUser, ConsoleUserService, Permission, require
from nakama_py.state import ServerState

if TYPE_CHECKING:
    import jinja2


class Templates:
    """The console's jinja2 environment, built when the first page is rendered: a server whose console
    nobody opens never imports jinja2 (about 2 MB of a worker's memory)."""

    def __init__(self, build: Callable[[], jinja2.Environment]) -> None:
        self._build = build
        self._environment: jinja2.Environment | None = None

    def get_template(self, name: str) -> jinja2.Template:
        if self._environment is None:
            self._environment = self._build()
        return self._environment.get_template(name)


@dataclass
class Console:
    state: ServerState
    users: ConsoleUserService
    tokens: ConsoleTokens
    templates: Templates
    process_role: str = "the only server process"


CONSOLE = web.AppKey("console", Console)
USER = web.RequestKey("console_user", ConsoleUser)
SESSION = web.RequestKey("console_session", ConsoleSession)


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE]


def current_user(request: web.Request) -> ConsoleUser:
    return request[USER]


def may(request: web.Request, permission: Permission) -> ConsoleUser:
    """The signed-in user, when their role allows ``permission`` (PERMISSION_DENIED otherwise)."""
    user = current_user(request)
    require(user.role, permission)
    return user


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    console = console_of(request)
    session = request.get(SESSION)
    page = console.templates.get_template(template).render(
        operator=request.get(USER), csrf=console.tokens.csrf_token(session) if session else "",
        path=request.path, message=request.query.get("msg", ""), error=request.query.get("err", ""),
        node=console.state.node, version=console.state.version, **values)
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


def back(location: str, *, msg: str = "", err: str = "") -> web.HTTPSeeOther:
    """After a form post: to a page, with a line to show there (post/redirect/get)."""
    url = URL(location)
    if msg:
        url = url.update_query(msg=msg)
    if err:
        url = url.update_query(err=err)
    return web.HTTPSeeOther(str(url))
