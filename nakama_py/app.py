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
    parties,
    rpc,
    sessions,
    storage,
    tournaments,
    users,
)
from nakama_py.realtime import socket as realtime_socket
from nakama_py.state import STATE, ServerState
from nakama_py.wire.admission import Admission
from nakama_py.wire.fast_lane import FAST_LANE, FastLane, LaneRoute
from nakama_py.wire.middleware import Wire, wire_middleware

ROUTE_GROUPS = [health.ROUTES, storage.ROUTES, authentication.ROUTES, sessions.ROUTES, accounts.ROUTES, rpc.ROUTES,
                leaderboards.ROUTES, notifications.ROUTES, channels.ROUTES, realtime_socket.ROUTES,
                users.ROUTES, friends.ROUTES, groups.ROUTES, events.ROUTES, tournaments.ROUTES,
                matches.ROUTES, matchmaker.ROUTES, parties.ROUTES]


MAX_FIELD_SIZE = 16384  # aiohttp's bound on one header line


def build_app(state: ServerState) -> web.Application:
    config = state.config
    # Admission first: a request refused under overload costs as little as possible.
    wire = Wire(state.metrics, Admission(state.metrics, config.socket.max_inflight_requests,
                                         config.socket.request_timeout_ms, config.socket.inflight_latency_target_ms,
                                         config.socket.shed_delay_ms),
                config.socket.response_headers, state.leaderboards.answer_hold())
    app = web.Application(
        client_max_size=config.socket.max_request_size_bytes,
        middlewares=[wire_middleware(wire)],
        handler_args={"max_field_size": MAX_FIELD_SIZE},
    )
    app[STATE] = state
    for routes in ROUTE_GROUPS:
        app.add_routes(routes)
    app.add_routes(module_http.routes(state.runtime))  # the runtime modules' register_http routes
    # The hottest routes, also served without aiohttp's request machinery when a request allows it.
    app[FAST_LANE] = FastLane(app, wire.handle, exact={("GET", "/v2/account"): LaneRoute(accounts.get_account,
                                                                                          "/v2/account")},
                              prefixed=(rpc.LANE_PREFIX, LaneRoute(rpc.rpc, rpc.ROUTE_NAME)),
                              max_body=config.socket.max_request_size_bytes, max_field_size=MAX_FIELD_SIZE)

    async def close_sockets(app: web.Application) -> None:
        await app[STATE].parties.close_all()  # members on other processes are told party_close
        await app[STATE].realtime.shutdown()

    app.on_shutdown.append(close_sockets)
    return app
