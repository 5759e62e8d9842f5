"""``GET /v2/party``: Nakama's ListParties (limit, open, query, cursor) over every process's parties.

As in Nakama, hidden parties are left out, and a bad query or cursor is a 500 "Error listing
matches." (Nakama's words for this route).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.core.party_listing import PartyListError
from nakama_py.errors import internal, invalid_argument
from nakama_py.wire.encoding import compact
from nakama_py.wire.request import get_opt_int, get_opt_str, query_bool, query_int, query_value
from nakama_py.wire.response import json_response

LIMIT_DEFAULT = 10


async def list_parties(request: web.Request) -> web.Response:
    bearer_session(request)
    query = request.query
    message: dict[str, Any] = {}
    for name, value in (("limit", query_int(query, "limit")), ("open", query_bool(query, "open")),
                        ("query", query_value(query, "query")), ("cursor", query_value(query, "cursor"))):
        if value is not None:
            message[name] = value
    message = await hooks.before(request, "ListParties", message)
    limit = get_opt_int(message, "limit", bits=32)
    if limit is not None and not 1 <= limit <= 100:
        raise invalid_argument("Invalid limit - limit must be between 1 and 100.")
    open_value = message.get("open")
    try:
        parties, cursor = await state_of(request).parties.list_parties(
            LIMIT_DEFAULT if limit is None else limit, open=open_value if isinstance(open_value, bool) else None,
            query=get_opt_str(message, "query") or "", cursor=get_opt_str(message, "cursor") or "")
    except PartyListError:
        raise internal("Error listing matches.") from None
    reply = {"parties": [compact(party.to_dict()) for party in parties], "cursor": cursor}
    await hooks.after(request, "ListParties", message, reply)
    return json_response(reply)


ROUTES = [web.get("/v2/party", list_parties)]
