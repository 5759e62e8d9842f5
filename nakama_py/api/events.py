"""``POST /v2/event``: a client's event, queued for the runtime's event handlers."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.core.events import Event
from nakama_py.errors import invalid_argument
from nakama_py.wire.encoding import compact
from nakama_py.wire.request import get_bool, get_str, get_str_map, read_body
from nakama_py.wire.response import empty_response


def _timestamp(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_argument(f"proto: invalid value for google.protobuf.Timestamp field timestamp: {text!r}") \
            from None


async def event(request: web.Request) -> web.Response:
    caller = bearer_session(request)
    body = await read_body(request)
    message = await hooks.before(request, "Event", compact({
        "name": get_str(body, "name"), "properties": dict(get_str_map(body, "properties")),
        "timestamp": get_str(body, "timestamp"), "external": get_bool(body, "external")}))
    message["external"] = True  # a client's event always is, whatever it says
    state_of(request).events.submit(Event(get_str(message, "name"), dict(get_str_map(message, "properties")),
                                          _timestamp(get_str(message, "timestamp")), True, caller))
    await hooks.after(request, "Event", message, {})
    return empty_response()


ROUTES = [web.post("/v2/event", event)]
