"""``GET /v2/user``: users by ids, usernames and Facebook ids."""

from __future__ import annotations

import uuid

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.account_messages import user_message
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.errors import invalid_argument
from nakama_py.route_hooks import Message
from nakama_py.wire.encoding import compact
from nakama_py.wire.request import get_list, query_values
from nakama_py.wire.response import empty_response, json_response


def _strings(message: Message, name: str) -> list[str]:
    return [str(value) for value in get_list(message, name)]


async def get_users(request: web.Request) -> web.Response:
    bearer_session(request)
    query = request.query
    message = await hooks.before(request, "GetUsers", compact({
        "ids": query_values(query, "ids"), "usernames": query_values(query, "usernames"),
        "facebook_ids": query_values(query, "facebook_ids")}))
    ids, usernames, facebook_ids = (_strings(message, "ids"), _strings(message, "usernames"),
                                    _strings(message, "facebook_ids"))
    if not ids and not usernames and not facebook_ids:
        return empty_response()
    for user_id in ids:
        try:
            uuid.UUID(user_id)
        except ValueError:
            raise invalid_argument(f"ID '{user_id}' is not a valid system ID.") from None
    users = await state_of(request).accounts.get_users(ids=ids, usernames=usernames, facebook_ids=facebook_ids)
    reply = {"users": [user_message(user) for user in users]}
    await hooks.after(request, "GetUsers", message, reply)
    return json_response(reply)


ROUTES = [web.get("/v2/user", get_users)]
