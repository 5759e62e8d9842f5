"""Builds the console's aiohttp application and serves it on ``console.port``. Wiring only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from nakama_py.console.context import CONSOLE, Console, Templates
from nakama_py.console.pages import (
    accounts,
    configuration,
    explorer,
    leaderboards,
    racing,
    runtime,
    signin,
    status,
    storage,
    users,
)
from nakama_py.console.security import gate
from nakama_py.console.sessions import ConsoleTokens
from nakama_py.core.console_users import ConsoleUserService, Permission, allowed
from nakama_py.state import ServerState
from nakama_py.wire.timeouts import AIOHTTP_KEEPALIVE_SEC, TimedTCPSite, Timeouts, deadlines

if TYPE_CHECKING:
    import jinja2

PACKAGE_DIR = Path(__file__).resolve().parent
PAGES = [signin.routes, status.routes, configuration.routes, runtime.routes, explorer.routes, accounts.routes,
         storage.routes, leaderboards.routes, racing.routes, users.routes]


def _when(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if value in (None, 0) else str(value)


def templates() -> jinja2.Environment:
    import jinja2  # on the first page rendered (context.Templates)

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["when"] = _when
    env.globals["allowed"] = allowed
    env.globals["Permission"] = Permission
    return env


async def _home(_: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/status")


def build_console_app(state: ServerState, *, process_role: str = "the only server process") -> web.Application:
    config = state.config.console
    app = web.Application(middlewares=[deadlines, gate], client_max_size=config.max_message_size_bytes)
    app[CONSOLE] = Console(state, ConsoleUserService(state.db, config),
                           ConsoleTokens(config.signing_key, config.token_expiry_sec), Templates(templates),
                           process_role=process_role)
    app.router.add_get("/", _home)
    for routes in PAGES:
        app.add_routes(routes)
    app.router.add_static("/static/", PACKAGE_DIR / "static")
    return app


async def start_console(state: ServerState, host: str, *, process_role: str) -> web.AppRunner:
    """Serve the console until the runner is cleaned up; raises OSError when the port is taken."""
    config = state.config.console
    timeouts = Timeouts(read_sec=config.read_timeout_ms / 1000, write_sec=config.write_timeout_ms / 1000,
                        idle_sec=config.idle_timeout_ms / 1000)
    runner = web.AppRunner(build_console_app(state, process_role=process_role), access_log=None,
                           handle_signals=False, keepalive_timeout=AIOHTTP_KEEPALIVE_SEC)
    await runner.setup()
    try:
        await TimedTCPSite(runner, host, config.port, timeouts).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner
