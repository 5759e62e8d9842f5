"""Group routes: ``/v2/group`` list and create; ``/v2/group/{group_id}`` update and delete;
``/{add,ban,demote,join,kick,leave,promote}`` and ``/user`` under it; ``/v2/user/{user_id}/group``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.account_messages import jsonb_text, user_message
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.core.group_types import Group, group_id_of, user_ids_of
from nakama_py.core.groups import GroupService
from nakama_py.route_hooks import Message
from nakama_py.wire.encoding import compact, dumps, timestamp
from nakama_py.wire.request import (
    field,
    get_bool,
    get_int,
    get_list,
    get_opt_int,
    get_opt_str,
    get_str,
    query_bool,
    query_int,
    query_value,
    query_values,
    read_body,
)
from nakama_py.wire.response import empty_response, json_response, raw_json_response


def group_message(group: Group) -> Message:
    message = compact({
        "id": group.id, "creator_id": group.creator_id, "name": group.name, "description": group.description,
        "lang_tag": group.lang_tag, "metadata": jsonb_text(group.metadata), "avatar_url": group.avatar_url,
        "edge_count": group.edge_count, "max_count": group.max_count,
        "create_time": timestamp(group.create_time.replace(microsecond=0)),
        "update_time": timestamp(group.update_time.replace(microsecond=0))})
    message["open"] = group.open  # a BoolValue: present even when false
    return message


def _paging(request: web.Request, *, with_state: bool) -> Message:
    query = request.query
    message = compact({"cursor": query_value(query, "cursor") or ""})
    for name in ("limit", "state") if with_state else ("limit",):
        value = query_int(query, name)
        if value is not None:
            message[name] = value  # Int32Value wrappers: 0 is a value
    return message


# --- the group ------------------------------------------------------------------------------------

async def create_group(request: web.Request) -> web.Response:
    caller = bearer_session(request)
    body = await read_body(request)
    message = await hooks.before(request, "CreateGroup", compact({
        "name": get_str(body, "name"), "description": get_str(body, "description"),
        "lang_tag": get_str(body, "lang_tag"), "avatar_url": get_str(body, "avatar_url"),
        "open": get_bool(body, "open"), "max_count": get_int(body, "max_count", bits=32)}))
    group = await state_of(request).groups.create(
        caller.user_id, get_str(message, "name"), description=get_str(message, "description"),
        avatar_url=get_str(message, "avatar_url"), lang_tag=get_str(message, "lang_tag"),
        open=get_bool(message, "open"), max_count=get_int(message, "max_count", bits=32))
    reply = group_message(group)
    await hooks.after(request, "CreateGroup", message, reply)
    return raw_json_response(dumps(reply))  # already compact, and keeps ``open: false``


async def update_group(request: web.Request) -> web.Response:
    caller = bearer_session(request)
    body = await read_body(request)
    request_message: Message = {"group_id": request.match_info["group_id"]}
    for name in ("name", "description", "lang_tag", "avatar_url"):
        value = get_opt_str(body, name)
        if value is not None:
            request_message[name] = value
    if field(body, "open") is not None:
        request_message["open"] = get_bool(body, "open")
    message = await hooks.before(request, "UpdateGroup", request_message)
    open_value = field(message, "open")
    await state_of(request).groups.update(
        get_str(message, "group_id"), caller.user_id, name=get_opt_str(message, "name"),
        description=get_opt_str(message, "description"), avatar_url=get_opt_str(message, "avatar_url"),
        lang_tag=get_opt_str(message, "lang_tag"), open=None if open_value is None else get_bool(message, "open"))
    await hooks.after(request, "UpdateGroup", message, {})
    return empty_response()


GroupAction = Callable[[GroupService, str, str, str], Awaitable[None]]


async def _delete(groups: GroupService, group_id: str, user_id: str, username: str) -> None:
    await groups.delete(group_id, user_id)


async def _join(groups: GroupService, group_id: str, user_id: str, username: str) -> None:
    await groups.join(group_id, user_id, username)


async def _leave(groups: GroupService, group_id: str, user_id: str, username: str) -> None:
    await groups.leave(group_id, user_id)


def _group_handler(method: str, action: GroupAction) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Routes whose request is only the path's group id."""
    async def handler(request: web.Request) -> web.Response:
        caller = bearer_session(request)
        message = await hooks.before(request, method, {"group_id": request.match_info["group_id"]})
        await action(state_of(request).groups, get_str(message, "group_id"), caller.user_id, caller.username)
        await hooks.after(request, method, message, {})
        return empty_response()

    handler.__name__ = method
    return handler


# --- acting on members: ?user_ids=... -------------------------------------------------------------

MembersAction = Callable[[GroupService, str, str, list[str]], Awaitable[None]]


def _members_handler(method: str, action: MembersAction) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        caller = bearer_session(request)
        message = await hooks.before(request, method, compact({
            "group_id": request.match_info["group_id"], "user_ids": query_values(request.query, "user_ids")}))
        user_ids = [str(value) for value in get_list(message, "user_ids")]
        group_id = group_id_of(get_str(message, "group_id"))
        if not user_ids and method != "DemoteGroupUsers":  # demote answers "User IDs must be set."
            return empty_response()
        await action(state_of(request).groups, group_id, caller.user_id, user_ids_of(user_ids))
        await hooks.after(request, method, message, {})
        return empty_response()

    handler.__name__ = method
    return handler


# --- listing --------------------------------------------------------------------------------------------

async def list_groups(request: web.Request) -> web.Response:
    bearer_session(request)
    query = request.query
    request_message = _paging(request, with_state=False)
    request_message.update(compact({"name": query_value(query, "name") or "",
                                    "lang_tag": query_value(query, "lang_tag") or ""}))
    for name, value in (("members", query_int(query, "members")), ("open", query_bool(query, "open"))):
        if value is not None:
            request_message[name] = value
    message = await hooks.before(request, "ListGroups", request_message)
    open_value = field(message, "open")
    limit = get_opt_int(message, "limit")
    groups, cursor = await state_of(request).groups.list_groups(
        name=get_str(message, "name"), lang_tag=get_str(message, "lang_tag"),
        open=None if open_value is None else get_bool(message, "open"), members=get_opt_int(message, "members"),
        limit=1 if limit is None else limit,
        cursor=get_str(message, "cursor") or None)
    reply = compact({"groups": [group_message(group) for group in groups], "cursor": cursor})
    await hooks.after(request, "ListGroups", message, reply)
    return json_response(reply)


async def list_group_users(request: web.Request) -> web.Response:
    bearer_session(request)
    request_message = {"group_id": request.match_info["group_id"], **_paging(request, with_state=True)}
    message = await hooks.before(request, "ListGroupUsers", request_message)
    limit = get_opt_int(message, "limit")
    members, cursor = await state_of(request).groups.list_members(
        get_str(message, "group_id"), limit=100 if limit is None else limit, state=get_opt_int(message, "state"),
        cursor=get_str(message, "cursor") or None)
    reply = compact({"group_users": [{"user": user_message(m.user), "state": m.state} for m in members],
                     "cursor": cursor})
    await hooks.after(request, "ListGroupUsers", message, reply)
    return json_response(reply)


async def list_user_groups(request: web.Request) -> web.Response:
    bearer_session(request)
    request_message = {"user_id": request.match_info["user_id"], **_paging(request, with_state=True)}
    message = await hooks.before(request, "ListUserGroups", request_message)
    limit = get_opt_int(message, "limit")
    items, cursor = await state_of(request).groups.list_user_groups(
        get_str(message, "user_id"), limit=100 if limit is None else limit, state=get_opt_int(message, "state"),
        cursor=get_str(message, "cursor") or None)
    reply = compact({"user_groups": [{"group": group_message(i.group), "state": i.state} for i in items],
                     "cursor": cursor})
    await hooks.after(request, "ListUserGroups", message, reply)
    return json_response(reply)


ROUTES = [
    web.get("/v2/group", list_groups),
    web.post("/v2/group", create_group),
    web.put("/v2/group/{group_id}", update_group),
    web.delete("/v2/group/{group_id}", _group_handler("DeleteGroup", _delete)),
    web.post("/v2/group/{group_id}/join", _group_handler("JoinGroup", _join)),
    web.post("/v2/group/{group_id}/leave", _group_handler("LeaveGroup", _leave)),
    web.post("/v2/group/{group_id}/add", _members_handler("AddGroupUsers", GroupService.add)),
    web.post("/v2/group/{group_id}/ban", _members_handler("BanGroupUsers", GroupService.ban)),
    web.post("/v2/group/{group_id}/kick", _members_handler("KickGroupUsers", GroupService.kick)),
    web.post("/v2/group/{group_id}/promote", _members_handler("PromoteGroupUsers", GroupService.promote)),
    web.post("/v2/group/{group_id}/demote", _members_handler("DemoteGroupUsers", GroupService.demote)),
    web.get("/v2/group/{group_id}/user", list_group_users),
    web.get("/v2/user/{user_id}/group", list_user_groups),
]
