"""``GET|PUT|DELETE /v2/account`` and ``POST /v2/account/{link,unlink}/{custom,device,email}``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.account_messages import account_message
from nakama_py.api.caller import bearer_session, state_of
from nakama_py.core import account_rules as rules
from nakama_py.core.accounts import AccountService
from nakama_py.errors import Code, NakamaError, invalid_argument
from nakama_py.route_hooks import Message
from nakama_py.wire.encoding import compact
from nakama_py.wire.request import get_opt_str, get_str, get_str_map, read_body
from nakama_py.wire.request_view import RequestView
from nakama_py.wire.response import empty_response, json_response

UPDATABLE = ("username", "display_name", "avatar_url", "lang_tag", "location", "timezone")


async def get_account(request: RequestView) -> web.Response:
    caller = bearer_session(request)
    message = await hooks.before(request, "GetAccount", {})
    account = await state_of(request).accounts.get_account(caller.user_id)
    reply = account_message(account)
    await hooks.after(request, "GetAccount", message, reply)
    return json_response(reply)


async def update_account(request: web.Request) -> web.Response:
    body = await read_body(request)
    message: Message = {}
    for name in UPDATABLE:
        value = get_opt_str(body, name)
        if value is not None:
            message[name] = value
    caller = bearer_session(request)
    message = await hooks.before(request, "UpdateAccount", message)

    username = get_opt_str(message, "username")
    if username is not None:
        rules.check_username_length(username)
    try:
        await state_of(request).accounts.update_account(
            caller.user_id, username=username, display_name=get_opt_str(message, "display_name"),
            avatar_url=get_opt_str(message, "avatar_url"), lang_tag=get_opt_str(message, "lang_tag"),
            location=get_opt_str(message, "location"), timezone=get_opt_str(message, "timezone"))
    except NakamaError as exc:
        if exc.code != Code.ALREADY_EXISTS:
            raise
        # Nakama's handler turns every non-database error into InvalidArgument carrying its text.
        raise invalid_argument(f"rpc error: code = AlreadyExists desc = {exc.message}") from None
    await hooks.after(request, "UpdateAccount", message, {})
    return empty_response()


async def delete_account(request: web.Request) -> web.Response:
    caller = bearer_session(request)
    message = await hooks.before(request, "DeleteAccount", {})
    await state_of(request).accounts.delete_account(caller.user_id)
    await hooks.after(request, "DeleteAccount", message, {})
    return empty_response()


# --- link / unlink: the body is the AccountCustom / AccountDevice / AccountEmail message -------------

Action = Callable[[AccountService, str, Message], Awaitable[None]]


def _id_message(body: dict[str, Any]) -> Message:
    return compact({"id": get_str(body, "id"), "vars": dict(get_str_map(body, "vars"))})


def _email_message(body: dict[str, Any]) -> Message:
    return compact({"email": get_str(body, "email"), "password": get_str(body, "password"),
                    "vars": dict(get_str_map(body, "vars"))})


def _link_handler(method: str, decode: Callable[[dict[str, Any]], Message],
                  action: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        message = decode(await read_body(request))
        caller = bearer_session(request)
        message = await hooks.before(request, method, message)
        await action(state_of(request).accounts, caller.user_id, message)
        await hooks.after(request, method, message, {})
        return empty_response()

    handler.__name__ = method
    return handler


async def _link_custom(accounts: AccountService, user_id: str, message: Message) -> None:
    await accounts.link_custom(user_id, get_str(message, "id"))


async def _link_device(accounts: AccountService, user_id: str, message: Message) -> None:
    await accounts.link_device(user_id, get_str(message, "id"))


async def _link_email(accounts: AccountService, user_id: str, message: Message) -> None:
    await accounts.link_email(user_id, get_str(message, "email"), get_str(message, "password"))


async def _unlink_custom(accounts: AccountService, user_id: str, message: Message) -> None:
    await accounts.unlink_custom(user_id, get_str(message, "id"))


async def _unlink_device(accounts: AccountService, user_id: str, message: Message) -> None:
    await accounts.unlink_device(user_id, get_str(message, "id"))


async def _unlink_email(accounts: AccountService, user_id: str, message: Message) -> None:
    await accounts.unlink_email(user_id, get_str(message, "email"))


ROUTES = [
    web.get("/v2/account", get_account),
    web.put("/v2/account", update_account),
    web.delete("/v2/account", delete_account),
    web.post("/v2/account/link/custom", _link_handler("LinkCustom", _id_message, _link_custom)),
    web.post("/v2/account/link/device", _link_handler("LinkDevice", _id_message, _link_device)),
    web.post("/v2/account/link/email", _link_handler("LinkEmail", _email_message, _link_email)),
    web.post("/v2/account/unlink/custom", _link_handler("UnlinkCustom", _id_message, _unlink_custom)),
    web.post("/v2/account/unlink/device", _link_handler("UnlinkDevice", _id_message, _unlink_device)),
    web.post("/v2/account/unlink/email", _link_handler("UnlinkEmail", _email_message, _unlink_email)),
]
