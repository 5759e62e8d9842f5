"""Tournament routes: list ``GET /v2/tournament``, join ``POST /v2/tournament/{id}/join``, records
``GET /v2/tournament/{id}``, write ``PUT|POST``, delete ``DELETE`` and around owner
``GET /v2/tournament/{id}/owner/{owner_id}``."""

from __future__ import annotations

import uuid

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.account_messages import jsonb_text
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.api.leaderboards import (
    list_message,
    optional_ints,
    write_board_record,
)
from nakama_py.core.leaderboard_types import from_unix
from nakama_py.core.tournaments import Tournament
from nakama_py.errors import invalid_argument
from nakama_py.route_hooks import Message
from nakama_py.wire.encoding import compact, timestamp
from nakama_py.wire.request import (
    field,
    get_int,
    get_opt_int,
    get_str,
    query_int,
    query_value,
    query_values,
)
from nakama_py.wire.response import empty_response, json_response


def _seconds(value: int) -> str | None:
    return timestamp(from_unix(value)) if value else None


def tournament_message(t: Tournament) -> Message:
    return compact({
        "id": t.id, "title": t.title, "description": t.description, "category": t.category,
        "sort_order": t.sort_order, "size": t.size, "max_size": t.max_size, "max_num_score": t.max_num_score,
        "can_enter": t.can_enter, "end_active": t.end_active, "next_reset": t.next_reset,
        "metadata": jsonb_text(t.metadata), "create_time": timestamp(t.create_time.replace(microsecond=0)),
        "start_time": _seconds(t.start_time), "end_time": _seconds(t.end_time), "duration": t.duration,
        "start_active": t.start_active, "prev_reset": t.prev_reset, "operator": t.operator,
        "authoritative": t.authoritative, "join_required": t.join_required})


async def list_tournaments(request: web.Request) -> web.Response:
    bearer_session(request)
    query = request.query
    request_message = compact({"cursor": query_value(query, "cursor") or ""})
    for name in ("category_start", "category_end", "start_time", "end_time", "limit"):
        value = query_int(query, name)
        if value is not None:
            request_message[name] = value  # UInt32Value / Int32Value wrappers: 0 is a value
    message = await hooks.before(request, "ListTournaments", request_message)
    limit = get_opt_int(message, "limit")
    category_end = get_opt_int(message, "category_end", bits=64)
    start_time = get_opt_int(message, "start_time", bits=64)
    end_time = get_opt_int(message, "end_time", bits=64)
    tournaments, cursor = await state_of(request).tournaments.list(
        category_start=get_int(message, "category_start"), category_end=127 if category_end is None else category_end,
        start_time=-1 if start_time is None else start_time, end_time=-1 if end_time is None else end_time,
        limit=100 if limit is None else limit, cursor=get_str(message, "cursor") or None)
    reply = compact({"tournaments": [tournament_message(t) for t in tournaments], "cursor": cursor})
    await hooks.after(request, "ListTournaments", message, reply)
    return json_response(reply)


async def join_tournament(request: web.Request) -> web.Response:
    claims = bearer_session(request)
    message = await hooks.before(request, "JoinTournament", {"tournament_id": request.match_info["tournament_id"]})
    tournament_id = get_str(message, "tournament_id")
    if not tournament_id:
        raise invalid_argument("Tournament ID must be provided")
    await state_of(request).tournaments.join(tournament_id, claims.user_id, claims.username or None)
    await hooks.after(request, "JoinTournament", message, {})
    return empty_response()


async def write_record(request: web.Request) -> web.Response:
    return await write_board_record(request, "WriteTournamentRecord", "tournament_id",
                                    "Tournament ID must be provided.", state_of(request).tournaments.write_record)


async def delete_record(request: web.Request) -> web.Response:
    claims = bearer_session(request)
    message = await hooks.before(request, "DeleteTournamentRecord",
                                 {"tournament_id": request.match_info["tournament_id"]})
    tournament_id = get_str(message, "tournament_id")
    if not tournament_id:
        raise invalid_argument("Invalid tournament ID.")
    await state_of(request).tournaments.delete_record(tournament_id, claims.user_id, caller=claims.user_id)
    await hooks.after(request, "DeleteTournamentRecord", message, {})
    return empty_response()


async def list_records(request: web.Request) -> web.Response:
    claims = bearer_session(request)
    query = request.query
    request_message = optional_ints(request, {
        "tournament_id": request.match_info["tournament_id"], "owner_ids": query_values(query, "owner_ids"),
        "cursor": query_value(query, "cursor") or ""}, "limit", "expiry")
    message = await hooks.before(request, "ListTournamentRecords", request_message)
    tournament_id = get_str(message, "tournament_id")
    if not tournament_id:
        raise invalid_argument("Tournament ID must be provided")
    owner_ids = field(message, "owner_ids") or []
    if not isinstance(owner_ids, list) or not all(isinstance(o, str) for o in owner_ids):
        raise invalid_argument("One or more owner IDs are invalid.")
    for owner_id in owner_ids:
        try:
            uuid.UUID(owner_id)
        except ValueError:
            raise invalid_argument("One or more owner IDs are invalid.") from None
    limit = get_opt_int(message, "limit", bits=32)
    cursor = get_str(message, "cursor")
    if limit is not None and not 1 <= limit <= 100:
        raise invalid_argument("Invalid limit - limit must be between 1 and 100.")
    if limit is None and (not owner_ids or not cursor):
        limit = 10  # Nakama's default for tournament pages
    result = await state_of(request).tournaments.list_records(
        tournament_id, owner_ids=owner_ids, limit=limit, cursor=get_str(message, "cursor") or None,
        expiry=get_int(message, "expiry"), caller=claims.user_id)
    reply = list_message(result)
    await hooks.after(request, "ListTournamentRecords", message, reply)
    return json_response(reply)


async def list_around_owner(request: web.Request) -> web.Response:
    claims = bearer_session(request)
    request_message = optional_ints(request, {
        "tournament_id": request.match_info["tournament_id"], "owner_id": request.match_info["owner_id"],
        "cursor": query_value(request.query, "cursor") or ""}, "limit", "expiry")
    message = await hooks.before(request, "ListTournamentRecordsAroundOwner", request_message)
    tournament_id = get_str(message, "tournament_id")
    if not tournament_id:
        raise invalid_argument("Invalid tournament ID.")
    limit = get_opt_int(message, "limit", bits=32)
    if limit is None:
        limit = 100
    elif not 1 <= limit <= 100:
        raise invalid_argument("Invalid limit - limit must be between 1 and 100.")
    owner_id = get_str(message, "owner_id")
    if not owner_id:
        raise invalid_argument("Owner ID must be provided for a haystack query.")
    try:
        owner_id = str(uuid.UUID(owner_id))
    except ValueError:
        raise invalid_argument("Invalid owner ID provided.") from None
    result = await state_of(request).tournaments.haystack(
        tournament_id, owner_id, limit=limit, cursor=get_str(message, "cursor") or None,
        expiry=max(get_int(message, "expiry"), 0), caller=claims.user_id)
    reply = list_message(result)
    await hooks.after(request, "ListTournamentRecordsAroundOwner", message, reply)
    return json_response(reply)


ROUTES = [
    web.get("/v2/tournament", list_tournaments),
    web.get("/v2/tournament/{tournament_id}", list_records),
    web.put("/v2/tournament/{tournament_id}", write_record),
    web.post("/v2/tournament/{tournament_id}", write_record),
    web.delete("/v2/tournament/{tournament_id}", delete_record),
    web.post("/v2/tournament/{tournament_id}/join", join_tournament),
    web.get("/v2/tournament/{tournament_id}/owner/{owner_id}", list_around_owner),
]
