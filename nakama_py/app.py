"""Builds the aiohttp application: routes and the wire middleware. Wiring only."""

from __future__ import annotations

from aiohttp import web

from nakama_py.api import (
    accounts,
    authentication,
    channels,
    events,
    friends,
    groups,
    health,
    leaderboards,
    matches,
    matchmaker,
    module_http,
    notifications,
    rpc,
    sessions,
    storage,
    tournaments,
    users,
)
from nakama_py.realtime import socket as realtime_socket
from nakama_py.state import STATE, ServerState
from nakama_py.wire.middleware import build_middleware

ROUTE_GROUPS = [health.ROUTES, storage.ROUTES, authentication.ROUTES, sessions.ROUTES, accounts.ROUTES, rpc.ROUTES,
                leaderboards.ROUTES, notifications.ROUTES, channels.ROUTES, realtime_socket.ROUTES,
                users.ROUTES, friends.ROUTES, groups.ROUTES, events.ROUTES, tournaments.ROUTES,
                matches.ROUTES, matchmaker.ROUTES]


def build_app(state: ServerState) -> web.Application:
    config = state.config
    app = web.Application(
        client_max_size=config.socket.max_request_size_bytes,
        middlewares=[build_middleware(state.metrics, config.socket.response_headers)],
        handler_args={"max_field_size": 16384},
    )
    app[STATE] = state
    for routes in ROUTE_GROUPS:
        app.add_routes(routes)
    app.add_routes(module_http.routes(state.runtime))  # the runtime modules' register_http routes

    async def close_sockets(app: web.Application) -> None:
        await app[STATE].realtime.shutdown()

    app.on_shutdown.append(close_sockets)
    return app
