"""Friend routes: list ``GET /v2/friend``, add ``POST``, delete ``DELETE``, block
``POST /v2/friend/block``, friends of friends ``GET /v2/friend/friends`` and the
imports ``POST /v2/friend/facebook|steam``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.account_messages import jsonb_text, user_message
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.core.friends import Friend, FriendOfFriend
from nakama_py.core.tokens import SessionClaims
from nakama_py.route_hooks import Message
from nakama_py.state import ServerState
from nakama_py.wire.encoding import compact, timestamp
from nakama_py.wire.request import (
    get_list,
    get_message,
    get_opt_int,
    get_str,
    query_bool,
    query_int,
    query_value,
    query_values,
    read_body,
)
from nakama_py.wire.response import empty_response, json_response


def friend_message(friend: Friend) -> Message:
    message = compact({"user": user_message(friend.user),
                       "update_time": timestamp(friend.update_time.replace(microsecond=0)),
                       "metadata": jsonb_text(friend.metadata)})
    message["state"] = friend.state  # an Int32Value: present even when 0
    return message


def friend_of_friend_message(item: FriendOfFriend) -> Message:
    return {"referrer": item.referrer, "user": user_message(item.user)}


def _paging(request: web.Request) -> Message:
    query = request.query
    message = compact({"cursor": query_value(query, "cursor") or ""})
    limit = query_int(query, "limit")
    if limit is not None:
        message["limit"] = limit  # an Int32Value: 0 is a value, and out of range
    return message


async def list_friends(request: web.Request) -> web.Response:
    caller = bearer_session(request)
    request_message = _paging(request)
    state_filter = query_int(request.query, "state")
    if state_filter is not None:
        request_message["state"] = state_filter
    message = await hooks.before(request, "ListFriends", request_message)
    limit = get_opt_int(message, "limit")
    friends, cursor = await state_of(request).friends.list_friends(
        caller.user_id, limit=1000 if limit is None else limit, state=get_opt_int(message, "state"),
        cursor=get_str(message, "cursor") or None)
    reply = compact({"friends": [friend_message(friend) for friend in friends], "cursor": cursor})
    await hooks.after(request, "ListFriends", message, reply)
    return json_response(reply)


async def list_friends_of_friends(request: web.Request) -> web.Response:
    caller = bearer_session(request)
    message = await hooks.before(request, "ListFriendsOfFriends", _paging(request))
    limit = get_opt_int(message, "limit")
    items, cursor = await state_of(request).friends.friends_of_friends(
        caller.user_id, limit=10 if limit is None else limit, cursor=get_str(message, "cursor") or None)
    reply = compact({"friends_of_friends": [friend_of_friend_message(item) for item in items], "cursor": cursor})
    await hooks.after(request, "ListFriendsOfFriends", message, reply)
    return json_response(reply)


# --- add, delete, block: ?ids=...&usernames=... ---------------------------------------------------

Change = Callable[[ServerState, SessionClaims, list[str], Message], Awaitable[None]]


async def _add(state: ServerState, caller: SessionClaims, ids: list[str], message: Message) -> None:
    await state.friends.add(caller.user_id, caller.username, ids, get_str(message, "metadata"))


async def _delete(state: ServerState, caller: SessionClaims, ids: list[str], message: Message) -> None:
    await state.friends.delete(caller.user_id, caller.username, ids)


async def _block(state: ServerState, caller: SessionClaims, ids: list[str], message: Message) -> None:
    await state.friends.block(caller.user_id, ids)


def _change_handler(method: str, self_message: str, change: Change) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        caller = bearer_session(request)
        query = request.query
        request_message = compact({"ids": query_values(query, "ids"), "usernames": query_values(query, "usernames"),
                                   "metadata": query_value(query, "metadata") or ""})
        message = await hooks.before(request, method, request_message)
        ids = [str(value) for value in get_list(message, "ids")]
        usernames = [str(value) for value in get_list(message, "usernames")]
        if not ids and not usernames:
            return empty_response()
        state = state_of(request)
        targets = await state.friends.resolve(caller.user_id, caller.username, ids, usernames,
                                              self_message=self_message, require_found=method != "DeleteFriends")
        if not targets:
            return empty_response()
        await change(state, caller, targets, message)
        await hooks.after(request, method, message, {})
        return empty_response()

    handler.__name__ = method
    return handler


# --- imports -------------------------------------------------------------------------------------

async def _import(request: web.Request, method: str) -> tuple[ServerState, Message]:
    bearer_session(request)
    body = await read_body(request)
    # The body is the request's ``account`` field (AccountFacebook / AccountSteam).
    request_message = compact({"account": compact({"token": get_str(body, "token")}),
                               "reset": query_bool(request.query, "reset")})
    return state_of(request), await hooks.before(request, method, request_message)


async def import_facebook(request: web.Request) -> web.Response:
    state, message = await _import(request, "ImportFacebookFriends")
    await state.friends.import_facebook(get_str(get_message(message, "account") or {}, "token"))
    await hooks.after(request, "ImportFacebookFriends", message, {})
    return empty_response()


async def import_steam(request: web.Request) -> web.Response:
    state, message = await _import(request, "ImportSteamFriends")
    await state.friends.import_steam(get_str(get_message(message, "account") or {}, "token"))
    await hooks.after(request, "ImportSteamFriends", message, {})
    return empty_response()


ROUTES = [
    web.get("/v2/friend", list_friends),
    web.post("/v2/friend", _change_handler("AddFriends", "Cannot add self as friend.", _add)),
    web.delete("/v2/friend", _change_handler("DeleteFriends", "Cannot delete self.", _delete)),
    web.post("/v2/friend/block", _change_handler("BlockFriends", "Cannot block self.", _block)),
    web.get("/v2/friend/friends", list_friends_of_friends),
    web.post("/v2/friend/facebook", import_facebook),
    web.post("/v2/friend/steam", import_steam),
]
