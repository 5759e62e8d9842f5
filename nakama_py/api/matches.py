"""``GET /v2/match``: running matches of the whole cluster, with Nakama's filters (rules in
``core.matches.listing``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.core.matches.listing import check_list_request
from nakama_py.core.matches.types import MatchListing
from nakama_py.wire.encoding import compact
from nakama_py.wire.request import query_bool, query_int, query_value
from nakama_py.wire.response import json_response


def match_json(match: MatchListing) -> dict[str, Any]:
    return compact({"match_id": match.match_id, "authoritative": match.authoritative, "label": match.label,
                    "size": match.size, "tick_rate": match.tick_rate, "handler_name": match.handler_name})


async def list_matches(request: web.Request) -> web.Response:
    bearer_session(request)
    query = request.query
    # Wrapper fields: absent means no filter, so only None is left out (false and 0 are filters).
    fields = {"limit": query_int(query, "limit"), "authoritative": query_bool(query, "authoritative"),
              "label": query_value(query, "label"), "min_size": query_int(query, "min_size"),
              "max_size": query_int(query, "max_size"), "query": query_value(query, "query")}
    message = await hooks.before(request, "ListMatches", {k: v for k, v in fields.items() if v is not None})
    args = (message.get("limit"), message.get("authoritative"), message.get("label"), message.get("min_size"),
            message.get("max_size"), message.get("query"))
    limit = check_list_request(*args)
    matches = state_of(request).match_listings.list(limit, *args[1:])
    reply = {"matches": [match_json(m) for m in matches]}
    await hooks.after(request, "ListMatches", message, reply)
    return json_response(reply)


ROUTES = [web.get("/v2/match", list_matches)]
