"""``GET /v2/matchmaker/stats``: the matchmaker's pool and latest completions (``core.matchmaker``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.wire.encoding import compact, timestamp
from nakama_py.wire.response import json_response


def _time(nanoseconds: int | None) -> str | None:
    return None if nanoseconds is None else timestamp(datetime.fromtimestamp(nanoseconds / 1e9, UTC))


async def matchmaker_stats(request: web.Request) -> web.Response:
    bearer_session(request)
    message = await hooks.before(request, "GetMatchmakerStats", {})
    stats = state_of(request).matchmaker.stats()
    reply: dict[str, Any] = compact({
        "ticket_count": stats.ticket_count,
        "oldest_ticket_create_time": _time(stats.oldest_ticket_create_time),
        "completions": [{"create_time": _time(created), "complete_time": _time(done)}
                        for created, done in stats.completions]})
    await hooks.after(request, "GetMatchmakerStats", message, reply)
    return json_response(reply)


ROUTES = [web.get("/v2/matchmaker/stats", matchmaker_stats)]
