"""Leaderboard routes: list ``GET /v2/leaderboard/{id}``, write ``POST``, delete ``DELETE``,
and around-owner ``GET /v2/leaderboard/{id}/owner/{owner_id}``.

Each handler builds Nakama's request message (snake_case), runs it through the
before hook, calls the core with the possibly rewritten message, and hands the
reply to the after hook. The write body is the bare record (body: "record").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.api.reply_cache import RenderedReplies
from nakama_py.core.leaderboards import LeaderboardRecord, RecordList
from nakama_py.errors import invalid_argument
from nakama_py.leaderboard_enums import OperatorOverride
from nakama_py.wire.encoding import compact, dumps, i64, timestamp
from nakama_py.wire.request import (
    field,
    get_int,
    get_message,
    get_opt_int,
    get_str,
    parse_json,
    query_int,
    query_value,
    query_values,
    read_raw,
)
from nakama_py.wire.response import empty_response, json_response, raw_json_response

Message = dict[str, Any]


def _whole_seconds(value: datetime) -> str | None:
    # Nakama builds record timestamps from whole seconds.
    return timestamp(value.replace(microsecond=0) if value.microsecond else value)


def record_message(record: LeaderboardRecord) -> Message:
    """A LeaderboardRecord in protojson form, zero fields left out (built directly: a page holds
    up to a thousand of these, and a generic zero filter costs more than the rest)."""
    message: Message = {"leaderboard_id": record.leaderboard_id, "owner_id": record.owner_id}
    if record.username is not None:
        message["username"] = record.username  # a StringValue: present when set
    if record.score:
        message["score"] = str(record.score)
    if record.subscore:
        message["subscore"] = str(record.subscore)
    if record.num_score:
        message["num_score"] = record.num_score
    if record.max_num_score:
        message["max_num_score"] = record.max_num_score
    # The JSON text as PostgreSQL prints jsonb (", " and ": " separators), as Nakama returns it.
    message["metadata"] = json.dumps(record.metadata, ensure_ascii=False) if record.metadata else "{}"
    message["create_time"] = _whole_seconds(record.create_time)
    message["update_time"] = _whole_seconds(record.update_time)
    expiry = timestamp(record.expiry_time)
    if expiry:
        message["expiry_time"] = expiry
    if record.rank:
        message["rank"] = str(record.rank)
    return message


def list_message(result: RecordList) -> Message:
    return compact({
        "records": [record_message(r) for r in result.records],
        "owner_records": [record_message(r) for r in result.owner_records],
        "next_cursor": result.next_cursor,
        "prev_cursor": result.prev_cursor,
        "rank_count": i64(result.rank_count),
    })


_rendered = RenderedReplies()


def render_list(result: RecordList) -> bytes:
    return dumps(compact(list_message(result)))


async def list_reply(request: web.Request, hook: str, message: Message, result: RecordList) -> web.Response:
    """The reply of a list route; without an after-hook, the bytes of a reply served before."""
    if not hooks.has_after(request, hook):
        return raw_json_response(_rendered.body(result, render_list))
    reply = list_message(result)
    await hooks.after(request, hook, message, reply)
    return json_response(reply)


def operator_of(record: Message) -> int:
    """The write's operator override: the enum number or its name, as protojson reads it."""
    value = field(record, "operator")
    if value is None:
        return 0
    if isinstance(value, str):
        if value in OperatorOverride.__members__:
            return OperatorOverride[value]
        raise invalid_argument(f"proto: invalid value for enum field operator: {orjson.dumps(value).decode()}")
    return get_int(record, "operator", bits=32)


def record_write(body: Any) -> Message:
    if not isinstance(body, dict):
        raise invalid_argument("proto: syntax error: expected a JSON object")
    record: Message = {"score": get_int(body, "score"), "subscore": get_int(body, "subscore"),
                       "metadata": get_str(body, "metadata"), "operator": operator_of(body)}
    return record


def valid_metadata(text: str) -> bool:
    try:
        return isinstance(orjson.loads(text), dict)
    except orjson.JSONDecodeError:
        return False


# --- write ---------------------------------------------------------------------------

async def write_record(request: web.Request) -> web.Response:
    return await write_board_record(request, "WriteLeaderboardRecord", "leaderboard_id", "Invalid leaderboard ID.",
                                    state_of(request).leaderboards.write_record)


async def write_board_record(request: web.Request, hook: str, id_field: str, missing_id: str,
                             write: Callable[..., Awaitable[LeaderboardRecord]]) -> web.Response:
    """A record write to a leaderboard or a tournament: the same message, rules and reply."""
    claims = bearer_session(request)
    raw = await read_raw(request)
    record = record_write(parse_json(raw)) if raw.strip() else None  # no body: no record at all
    message = await hooks.before(request, hook, {id_field: request.match_info[id_field], "record": record})
    board_id = get_str(message, id_field)
    if not board_id:
        raise invalid_argument(missing_id)
    record = get_message(message, "record")
    if record is None:
        raise invalid_argument("Invalid input, record score value is required.")
    metadata = get_str(record, "metadata")
    if metadata and not valid_metadata(metadata):
        raise invalid_argument("Metadata value must be JSON, if provided.")
    written = await write(
        board_id, claims.user_id, username=claims.username or None, score=get_int(record, "score"),
        subscore=get_int(record, "subscore"), metadata=metadata or None, override_operator=operator_of(record),
        caller=claims.user_id)
    reply = record_message(written)
    await hooks.after(request, hook, message, reply)
    return json_response(reply)


# --- delete --------------------------------------------------------------------------

async def delete_record(request: web.Request) -> web.Response:
    claims = bearer_session(request)
    message = await hooks.before(request, "DeleteLeaderboardRecord",
                                 {"leaderboard_id": request.match_info["leaderboard_id"]})
    leaderboard_id = get_str(message, "leaderboard_id")
    if not leaderboard_id:
        raise invalid_argument("Invalid leaderboard ID.")
    await state_of(request).leaderboards.delete_record(leaderboard_id, claims.user_id, caller=claims.user_id)
    await hooks.after(request, "DeleteLeaderboardRecord", message, None)
    return empty_response()


# --- list ----------------------------------------------------------------------------

def optional_ints(request: web.Request, message: Message, *names: str) -> Message:
    for name in names:
        value = query_int(request.query, name)
        if value is not None:
            message[name] = value
    return message


async def list_records(request: web.Request) -> web.Response:
    claims = bearer_session(request)
    query = request.query
    request_message = optional_ints(request, {
        "leaderboard_id": request.match_info["leaderboard_id"],
        "owner_ids": query_values(query, "owner_ids"),
        "cursor": query_value(query, "cursor") or "",
    }, "limit", "expiry")
    message = await hooks.before(request, "ListLeaderboardRecords", request_message)
    owner_ids = field(message, "owner_ids") or []
    if not isinstance(owner_ids, list) or not all(isinstance(o, str) for o in owner_ids):
        raise invalid_argument("One or more owner IDs are invalid.")
    result = await state_of(request).leaderboards.list_records(
        get_str(message, "leaderboard_id"), owner_ids=owner_ids, limit=get_opt_int(message, "limit", bits=32),
        cursor=get_str(message, "cursor") or None, expiry=get_int(message, "expiry"), caller=claims.user_id)
    return await list_reply(request, "ListLeaderboardRecords", message, result)


# --- around owner --------------------------------------------------------------------

async def list_around_owner(request: web.Request) -> web.Response:
    claims = bearer_session(request)
    request_message = optional_ints(request, {
        "leaderboard_id": request.match_info["leaderboard_id"],
        "owner_id": request.match_info["owner_id"],
        "cursor": query_value(request.query, "cursor") or "",
    }, "limit", "expiry")
    message = await hooks.before(request, "ListLeaderboardRecordsAroundOwner", request_message)
    leaderboard_id = get_str(message, "leaderboard_id")
    if not leaderboard_id:
        raise invalid_argument("Invalid leaderboard ID.")
    limit = get_opt_int(message, "limit", bits=32)
    if limit is None:
        limit = 1
    elif not 1 <= limit <= 100:
        raise invalid_argument("Invalid limit - limit must be between 1 and 100.")
    owner_id = get_str(message, "owner_id")
    if not owner_id:
        raise invalid_argument("Owner ID must be provided for a haystack query.")
    try:
        owner_id = str(uuid.UUID(owner_id))
    except ValueError:
        raise invalid_argument("Invalid owner ID provided.") from None
    result = await state_of(request).leaderboards.haystack(
        leaderboard_id, owner_id, limit=limit, cursor=get_str(message, "cursor") or None,
        expiry=max(get_int(message, "expiry"), 0), caller=claims.user_id)
    return await list_reply(request, "ListLeaderboardRecordsAroundOwner", message, result)


ROUTES = [
    web.get("/v2/leaderboard/{leaderboard_id}", list_records),
    web.post("/v2/leaderboard/{leaderboard_id}", write_record),
    web.delete("/v2/leaderboard/{leaderboard_id}", delete_record),
    web.get("/v2/leaderboard/{leaderboard_id}/owner/{owner_id}", list_around_owner),
]
