"""``GET /v2/channel/{channel_id}``: a channel's message history (limit, forward, cursor)."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from google.protobuf import json_format

from nakama_py.api import hook_calls as hooks
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.errors import invalid_argument
from nakama_py.wire.request import get_bool, get_opt_int, get_str, query_bool, query_int, query_value
from nakama_py.wire.response import raw_json_response

Message = dict[str, Any]


async def list_channel_messages(request: web.Request) -> web.Response:
    caller = bearer_session(request).user_id
    query = request.query
    message: Message = {"channel_id": request.match_info["channel_id"],
                        "cursor": query_value(query, "cursor") or ""}
    limit = query_int(query, "limit")
    if limit is not None:
        message["limit"] = limit
    forward = query_bool(query, "forward")
    if forward is not None:
        message["forward"] = forward
    message = await hooks.before(request, "ListChannelMessages", message)
    limit = get_opt_int(message, "limit", bits=32)
    if limit is not None and not 1 <= limit <= 100:
        raise invalid_argument("Invalid limit - limit must be between 1 and 100.")
    history = await state_of(request).channels.history(
        caller, get_str(message, "channel_id"), 1 if limit is None else limit, get_bool(message, "forward"),
        get_str(message, "cursor"))
    reply = json_format.MessageToDict(history, preserving_proto_field_name=True)
    await hooks.after(request, "ListChannelMessages", message, reply)
    return raw_json_response(orjson.dumps(reply))  # as protojson: set wrappers (code 0) stay


ROUTES = [web.get("/v2/channel/{channel_id}", list_channel_messages)]
