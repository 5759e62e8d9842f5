"""Notification routes: list ``GET /v2/notification`` (limit, cacheable cursor) and
``DELETE /v2/notification?ids=...``, as Nakama's ListNotifications and DeleteNotifications."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.core.notifications import SYSTEM_SENDER, Notification
from nakama_py.errors import invalid_argument
from nakama_py.wire.encoding import compact, timestamp
from nakama_py.wire.request import get_list, get_opt_int, get_str, query_int, query_value, query_values
from nakama_py.wire.response import empty_response, json_response

Message = dict[str, Any]


def notification_message(note: Notification) -> Message:
    return compact({
        "id": note.id,
        "subject": note.subject,
        "content": orjson.dumps(note.content).decode(),
        "code": note.code,
        "sender_id": "" if note.sender_id == SYSTEM_SENDER else note.sender_id,
        # Nakama fills list times from whole seconds.
        "create_time": timestamp(note.create_time.replace(microsecond=0)) if note.create_time else None,
        "persistent": True,
    })


async def list_notifications(request: web.Request) -> web.Response:
    caller = bearer_session(request).user_id
    query = request.query
    message: Message = {"cacheable_cursor": query_value(query, "cacheable_cursor") or ""}
    limit = query_int(query, "limit")
    if limit is not None:
        message["limit"] = limit
    message = await hooks.before(request, "ListNotifications", message)
    limit = get_opt_int(message, "limit", bits=32)
    if limit is not None and not 1 <= limit <= 100:
        raise invalid_argument("Invalid limit - limit must be between 1 and 100.")
    items, cursor = await state_of(request).notifications.list_cacheable(
        caller, 1 if limit is None else limit, get_str(message, "cacheable_cursor"))
    reply = {"notifications": [notification_message(note) for note in items], "cacheable_cursor": cursor}
    await hooks.after(request, "ListNotifications", message, reply)
    return json_response(reply)


async def delete_notifications(request: web.Request) -> web.Response:
    caller = bearer_session(request).user_id
    message = await hooks.before(request, "DeleteNotifications", {"ids": query_values(request.query, "ids")})
    ids = [str(i) for i in get_list(message, "ids")]
    if ids:
        await state_of(request).notifications.delete(caller, ids)
    await hooks.after(request, "DeleteNotifications", message, None)
    return empty_response()


ROUTES = [
    web.get("/v2/notification", list_notifications),
    web.delete("/v2/notification", delete_notifications),
]
