"""Status: the cluster's nodes and processes, sockets and presences, request rates and latencies, the
database pool, rank structures.

The page polls ``/status.json`` and draws the rates as they come (console.js)."""

from __future__ import annotations

import os
import time
from typing import Any

from aiohttp import web

from nakama_py.console.context import console_of, may, render
from nakama_py.core.console_users import Permission

routes = web.RouteTableDef()
STARTED = time.time()


def snapshot(request: web.Request) -> dict[str, Any]:
    console = console_of(request)
    state = console.state
    pool = state.db.pool.get_stats()
    routes_seen = state.metrics.request_summary()
    # Membership comes from the cluster bus: every worker process of every node that is alive.
    members = sorted(state.bus.alive(), key=lambda info: (info.node, info.started_at))
    tracker = state.realtime.tracker
    return {
        "node": state.node,
        "version": state.version,
        "pid": os.getpid(),
        "console_process": console.process_role,
        "workers": state.config.workers,
        "uptime_sec": int(time.time() - STARTED),
        "time": time.time(),
        "requests_total": sum(r["count"] for r in routes_seen.values()),
        "routes": routes_seen,
        "pool": {"size": pool.get("pool_size", 0), "available": pool.get("pool_available", 0),
                 "waiting": pool.get("requests_waiting", 0), "max": state.db.pool.max_size},
        "cluster": {
            "nodes": sorted({info.node for info in members}),
            "processes": [{"node": info.node, "process": info.process, "started_at": info.started_at,
                           "this": info.process == state.bus.process} for info in members],
        },
        "sockets": len(state.realtime.registry),  # this process's own sockets
        "sessions": tracker.session_count(),      # the tracker replicates every process's presences
        "presences": tracker.presence_count(),
        "ranks": [{"board": board, "expiry": expiry, "entries": entries}
                  for board, expiry, entries in state.leaderboards.rank_sizes()],
    }


@routes.get("/status")
async def status_page(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    return render(request, "status.html", status_data=snapshot(request))


@routes.get("/status.json")
async def status_json(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    return web.json_response(snapshot(request))
