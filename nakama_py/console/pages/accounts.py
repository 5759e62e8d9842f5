"""Accounts: search, view and edit a profile, wallet and ledger, devices, storage, friends and groups; ban,
unban, delete, export."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from aiohttp import web

from nakama_py.console.audit import audit
from nakama_py.console.context import back, console_of, may, render
from nakama_py.core.console_users import Permission
from nakama_py.core.friends import LIST_LIMIT_MAX as FRIENDS_LIMIT
from nakama_py.core.friends import STATE_NAMES, Friend
from nakama_py.core.group_lists import LIST_LIMIT_MAX as GROUPS_LIMIT
from nakama_py.core.group_types import ROLE_NAMES, UserGroup
from nakama_py.errors import invalid_argument
from nakama_py.state import ServerState

routes = web.RouteTableDef()
SEARCH_LIMIT = 50
PROFILE_FIELDS = ("username", "display_name", "avatar_url", "lang_tag", "location", "timezone")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise invalid_argument(f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") \
            from None
    if not isinstance(value, dict):
        raise invalid_argument(f"{what} must be a JSON object.")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class Social:
    """An account's friends and groups: the first page of each, as the API's list calls return them."""

    friends: list[Friend]
    groups: list[UserGroup]
    more_friends: bool
    more_groups: bool


async def _social(state: ServerState, user_id: str) -> Social:
    friends, friends_cursor = await state.friends.list_friends(user_id, limit=FRIENDS_LIMIT)
    groups, groups_cursor = await state.groups.list_user_groups(user_id, limit=GROUPS_LIMIT)
    return Social(friends, groups, friends_cursor is not None, groups_cursor is not None)


def _friend_json(friend: Friend) -> dict[str, Any]:
    return {**_jsonable(friend), "state_name": STATE_NAMES.get(friend.state, str(friend.state))}


def _group_json(membership: UserGroup) -> dict[str, Any]:
    return {**_jsonable(membership), "role": ROLE_NAMES.get(membership.state, str(membership.state))}


@routes.get("/accounts")
async def search(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    text = request.query.get("q", "")
    users = await console_of(request).state.accounts.find_users(text, SEARCH_LIMIT)
    return render(request, "accounts.html", q=text, users=users)


@routes.get("/accounts/{user_id}")
async def account_page(request: web.Request) -> web.StreamResponse:
    may(request, Permission.VIEW)
    state = console_of(request).state
    user_id = request.match_info["user_id"]
    account = await state.accounts.get_account(user_id)
    ledger, _ = await state.wallets.ledger_list(account.user.id, 100)
    objects = await state.storage.owner_objects(account.user.id, 200)
    social = await _social(state, account.user.id)
    return render(request, "account.html", account=account, user=account.user, ledger=ledger, objects=objects,
                  metadata=json.dumps(account.user.metadata, indent=2), wallet=json.dumps(account.wallet),
                  social=social, friend_states=STATE_NAMES, group_roles=ROLE_NAMES)


@routes.post("/accounts/{user_id}/profile")
async def update_profile(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.EDIT_DATA)
    state = console_of(request).state
    user_id = request.match_info["user_id"]
    form = await request.post()
    fields = {name: str(form.get(name, "")) for name in PROFILE_FIELDS}
    metadata = _json_object(str(form.get("metadata", "")), "Metadata")
    fields["lang_tag"] = fields["lang_tag"] or "en"  # the column may not be empty
    await state.accounts.update_account(user_id, metadata=metadata, **fields)
    audit(operator.username, "updated an account's profile", user_id=user_id, fields=sorted(fields))
    raise back(f"/accounts/{user_id}", msg="Profile saved.")


@routes.post("/accounts/{user_id}/wallet")
async def update_wallet(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.EDIT_DATA)
    state = console_of(request).state
    user_id = request.match_info["user_id"]
    form = await request.post()
    changeset = _json_object(str(form.get("changeset", "")), "The changeset")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in changeset.values()):
        raise invalid_argument("Changeset values must be integers (amounts to add; negative to take).")
    await state.wallets.update_one(user_id, changeset, {"reason": "console", "operator": operator.username})
    audit(operator.username, "changed a wallet", user_id=user_id, changeset=changeset)
    raise back(f"/accounts/{user_id}", msg="Wallet updated.")


@routes.post("/accounts/{user_id}/ban")
async def ban(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.EDIT_DATA)
    user_id = request.match_info["user_id"]
    await console_of(request).state.accounts.ban(user_id)
    audit(operator.username, "banned an account", user_id=user_id)
    raise back(f"/accounts/{user_id}", msg="Banned: the account's sessions stopped working.")


@routes.post("/accounts/{user_id}/unban")
async def unban(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.EDIT_DATA)
    user_id = request.match_info["user_id"]
    await console_of(request).state.accounts.unban(user_id)
    audit(operator.username, "unbanned an account", user_id=user_id)
    raise back(f"/accounts/{user_id}", msg="Unbanned.")


@routes.post("/accounts/{user_id}/delete")
async def delete(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.EDIT_DATA)
    state = console_of(request).state
    user_id = request.match_info["user_id"]
    account = await state.accounts.get_account(user_id)
    form = await request.post()
    if str(form.get("confirm", "")) != account.user.username:
        raise back(f"/accounts/{user_id}", err="Not deleted: type the username exactly to confirm.")
    await state.accounts.delete_account(account.user.id)
    audit(operator.username, "deleted an account", user_id=account.user.id, username=account.user.username)
    raise back("/accounts", msg=f"Account {account.user.username} deleted.")


@routes.get("/accounts/{user_id}/export")
async def export(request: web.Request) -> web.StreamResponse:
    operator = may(request, Permission.VIEW)
    state = console_of(request).state
    account = await state.accounts.get_account(request.match_info["user_id"])
    ledger, _ = await state.wallets.ledger_list(account.user.id, 100)
    objects = await state.storage.owner_objects(account.user.id)
    social = await _social(state, account.user.id)
    audit(operator.username, "exported an account", user_id=account.user.id)  # personal data left the server
    document = {"account": _jsonable(account), "objects": _jsonable(objects), "wallet_ledgers": _jsonable(ledger),
                "friends": [_friend_json(f) for f in social.friends],
                "groups": [_group_json(g) for g in social.groups]}
    return web.Response(text=json.dumps(document, indent=2), content_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="account-{account.user.id}.json"'})
