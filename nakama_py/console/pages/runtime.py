"""Runtime: the modules loaded, their RPCs, REST and socket hooks, reset functions and background jobs."""

from __future__ import annotations

from aiohttp import web

from nakama_py.console.context import console_of, may, render
from nakama_py.core.console_users import Permission

routes = web.RouteTableDef()


@routes.get("/runtime")
async def runtime_page(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    state = console_of(request).state
    registry = state.runtime.registry
    return render(
        request, "runtime.html",
        runtime_path=str(state.config.runtime_path),
        modules=list(registry.modules),
        rpcs=sorted(registry.rpcs.values(), key=lambda entry: entry.id),
        before=sorted(registry.before.values(), key=lambda entry: entry.name),
        after=sorted(registry.after.values(), key=lambda entry: entry.name),
        rt_before=sorted(registry.rt_before.values(), key=lambda entry: entry.name),
        rt_after=sorted(registry.rt_after.values(), key=lambda entry: entry.name),
        session_events=[("session start", e) for e in registry.session_start]
        + [("session end", e) for e in registry.session_end],
        resets=list(registry.resets),
        jobs=sorted(registry.jobs.values(), key=lambda entry: entry.name),
        shutdowns=list(registry.shutdowns),
    )
