"""``POST /v2/account/authenticate/{apple,custom,device,email,facebook,facebookinstantgame,gamecenter,google,steam}``.

The body is the inner account message (``{"id": ..., "vars": {...}}`` and so on), ``create``
and ``username`` (and ``sync`` for facebook and steam) come from the query string, and the
server key is the Basic username. As behind Nakama's gateway, the request is decoded first,
then the server key is checked, then the before-hook runs, then the rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from nakama_py.api import hook_calls as hooks
from nakama_py.api.caller import client_ip, require_server_key, state_of
from nakama_py.core.account_types import AuthResult
from nakama_py.core.accounts import AccountService
from nakama_py.core.login_attempts import Attempt
from nakama_py.errors import invalid_argument
from nakama_py.route_hooks import Message
from nakama_py.wire.request import (
    field,
    get_int,
    get_message,
    get_str,
    get_str_map,
    parse_json,
    query_bool,
    query_value,
    read_raw,
)
from nakama_py.wire.response import json_response

SignIn = Callable[[AccountService, dict[str, Any] | None, str, bool, Attempt], Awaitable[AuthResult]]


@dataclass(frozen=True, slots=True)
class AuthenticateRoute:
    path: str
    method: str                    # Nakama's gRPC method name, which hooks are registered under
    strings: tuple[str, ...]       # the account message's string fields
    int64s: tuple[str, ...] = ()   # its int64 fields (JSON strings in proto-JSON)
    sync: bool = False             # accepts ``?sync=`` (import friends; nakama-py has none to import)
    sign_in: SignIn | None = None


async def read_account(request: web.Request) -> dict[str, Any] | None:
    """The body as the account message; None for an empty body (Nakama then sees no account at all)."""
    raw = await read_raw(request)
    if not raw.strip():
        return None
    value = parse_json(raw)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_argument("proto: syntax error: expected a JSON object")
    return value


def normalize_account(route: AuthenticateRoute, account: dict[str, Any] | None) -> dict[str, Any] | None:
    """The account message in proto-JSON form: snake_case names, checked types, zero values left out."""
    if account is None:
        return None
    message: dict[str, Any] = {}
    for name in route.strings:
        value = get_str(account, name)
        if value:
            message[name] = value
    for name in route.int64s:
        number = get_int(account, name)
        if number:
            message[name] = str(number)
    variables = get_str_map(account, "vars")
    if variables:
        message["vars"] = dict(variables)
    return message


def _create_of(message: Message) -> bool:
    value = field(message, "create")
    if isinstance(value, dict):  # a BoolValue written out as a message by a hook
        value = value.get("value", False)
    return True if value is None else bool(value)


def _sign_in_custom(accounts: AccountService, account: dict[str, Any] | None, username: str,
                    create: bool, attempt: Attempt) -> Awaitable[AuthResult]:
    return accounts.authenticate_custom(get_str(account or {}, "id"), username=username, create=create,
                                        attempt=attempt)


def _sign_in_device(accounts: AccountService, account: dict[str, Any] | None, username: str,
                    create: bool, _attempt: Attempt) -> Awaitable[AuthResult]:
    return accounts.authenticate_device(get_str(account or {}, "id"), username=username, create=create)


async def _sign_in_email(accounts: AccountService, account: dict[str, Any] | None, username: str,
                         create: bool, attempt: Attempt) -> AuthResult:
    if account is None:
        raise invalid_argument("Email address and password is required.")
    return await accounts.authenticate_email(get_str(account, "email"), get_str(account, "password"),
                                             username=username, create=create, attempt=attempt)


def _sign_in_apple(accounts: AccountService, account: dict[str, Any] | None, username: str,
                   create: bool, _attempt: Attempt) -> Awaitable[AuthResult]:
    return accounts.authenticate_apple(get_str(account or {}, "token"), username=username, create=create)


def _sign_in_facebook(accounts: AccountService, account: dict[str, Any] | None, username: str,
                      create: bool, _attempt: Attempt) -> Awaitable[AuthResult]:
    return accounts.authenticate_facebook(get_str(account or {}, "token"), username=username, create=create)


def _sign_in_facebook_instant_game(accounts: AccountService, account: dict[str, Any] | None, username: str,
                                   create: bool, _attempt: Attempt) -> Awaitable[AuthResult]:
    return accounts.authenticate_facebook_instant_game(get_str(account or {}, "signed_player_info"),
                                                       username=username, create=create)


async def _sign_in_gamecenter(accounts: AccountService, account: dict[str, Any] | None, username: str,
                              create: bool, _attempt: Attempt) -> AuthResult:
    if account is None:
        raise invalid_argument("GameCenter access credentials are required.")
    return await accounts.authenticate_gamecenter(
        get_str(account, "player_id"), get_str(account, "bundle_id"), get_int(account, "timestamp_seconds"),
        get_str(account, "salt"), get_str(account, "signature"), get_str(account, "public_key_url"),
        username=username, create=create)


def _sign_in_google(accounts: AccountService, account: dict[str, Any] | None, username: str,
                    create: bool, _attempt: Attempt) -> Awaitable[AuthResult]:
    return accounts.authenticate_google(get_str(account or {}, "token"), username=username, create=create)


def _sign_in_steam(accounts: AccountService, account: dict[str, Any] | None, username: str,
                   create: bool, _attempt: Attempt) -> Awaitable[AuthResult]:
    return accounts.authenticate_steam(get_str(account or {}, "token"), username=username, create=create)


AUTHENTICATE_ROUTES = (
    AuthenticateRoute("apple", "AuthenticateApple", ("token",), sign_in=_sign_in_apple),
    AuthenticateRoute("custom", "AuthenticateCustom", ("id",), sign_in=_sign_in_custom),
    AuthenticateRoute("device", "AuthenticateDevice", ("id",), sign_in=_sign_in_device),
    AuthenticateRoute("email", "AuthenticateEmail", ("email", "password"), sign_in=_sign_in_email),
    AuthenticateRoute("facebook", "AuthenticateFacebook", ("token",), sync=True, sign_in=_sign_in_facebook),
    AuthenticateRoute("facebookinstantgame", "AuthenticateFacebookInstantGame", ("signed_player_info",),
                      sign_in=_sign_in_facebook_instant_game),
    AuthenticateRoute("gamecenter", "AuthenticateGameCenter",
                      ("player_id", "bundle_id", "salt", "signature", "public_key_url"), ("timestamp_seconds",),
                      sign_in=_sign_in_gamecenter),
    AuthenticateRoute("google", "AuthenticateGoogle", ("token",), sign_in=_sign_in_google),
    AuthenticateRoute("steam", "AuthenticateSteam", ("token",), sync=True, sign_in=_sign_in_steam),
)


def _handler(route: AuthenticateRoute) -> Callable[[web.Request], Awaitable[web.Response]]:
    sign_in = route.sign_in
    assert sign_in is not None

    async def authenticate(request: web.Request) -> web.Response:
        account = normalize_account(route, await read_account(request))
        query = request.query
        create = query_bool(query, "create")
        username = query_value(query, "username") or ""
        sync = query_bool(query, "sync") if route.sync else None
        require_server_key(request)

        message: Message = {}
        if account is not None:
            message["account"] = account
        if create is not None:
            message["create"] = create
        if username:
            message["username"] = username
        if sync is not None:
            message["sync"] = sync
        message = await hooks.before(request, route.method, message)

        account = get_message(message, "account")
        state = state_of(request)
        attempt = state.accounts.client_attempt(client_ip(request, state.config.socket.proxy_count))
        result = await sign_in(state.accounts, account, get_str(message, "username"), _create_of(message), attempt)
        variables = get_str_map(account or {}, "vars")
        session = await state.accounts.start_session(result, variables)
        reply = {"created": result.created, "token": session.token, "refresh_token": session.refresh_token}
        await hooks.after(request, route.method, message, reply)
        return json_response(reply)

    authenticate.__name__ = f"authenticate_{route.path}"
    return authenticate


ROUTES = [web.post(f"/v2/account/authenticate/{route.path}", _handler(route)) for route in AUTHENTICATE_ROUTES]
