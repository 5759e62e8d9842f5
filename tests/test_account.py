"""GET, PUT and DELETE /v2/account, and the account service the runtime calls."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from psycopg import AsyncConnection

from nakama_py.errors import Code, NakamaError
from nakama_py.state import ServerState
from tests.support.auth import Client, authenticate, basic, bearer, claims_of, sign_in_custom

WHOLE_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


async def get_account(client: Client, token: str) -> tuple[int, Any]:
    response = await client.get("/v2/account", headers=bearer(token))
    return response.status, await response.json()


async def put_account(client: Client, token: str, body: Any) -> tuple[int, Any]:
    response = await client.put("/v2/account", json=body, headers=bearer(token))
    return response.status, await response.json()


async def new_session(client: Client) -> dict[str, Any]:
    return await sign_in_custom(client, f"acct-{uuid.uuid4().hex[:12]}")


# --- GET -----------------------------------------------------------------------------------------


async def test_get_account_of_a_new_custom_account(client: Client) -> None:
    custom_id = f"acct-{uuid.uuid4().hex[:12]}"
    session = await sign_in_custom(client, custom_id)
    status, body = await get_account(client, session["token"])
    assert status == 200
    claims = claims_of(session["token"])
    assert list(body) == ["user", "wallet", "custom_id"]
    assert body["wallet"] == "{}" and body["custom_id"] == custom_id
    user = body["user"]
    assert list(user) == ["id", "username", "lang_tag", "metadata", "create_time", "update_time"]
    assert user["id"] == claims["uid"] and user["username"] == claims["usn"]
    assert user["lang_tag"] == "en" and user["metadata"] == "{}"
    assert WHOLE_SECONDS.match(user["create_time"]) and WHOLE_SECONDS.match(user["update_time"])


async def test_get_account_lists_devices_email_and_verify_time_but_never_disable_time(
        client: Client, state: ServerState) -> None:
    device_id = f"device-{uuid.uuid4().hex[:12]}"
    _, session = await authenticate(client, "device", {"id": device_id})
    user_id = claims_of(session["token"])["uid"]
    await state.db.execute(
        "UPDATE users SET email = %s, verify_time = '2024-05-06T07:08:09.5Z', disable_time = now(),"
        " metadata = '{\"b\": [1, 2], \"a\": \"x\"}', wallet = '{\"coins\": 10}' WHERE id = %s",
        (f"{device_id}@example.com", user_id))
    status, body = await get_account(client, session["token"])
    assert status == 200
    assert body["devices"] == [{"id": device_id}]
    assert body["email"] == f"{device_id}@example.com"
    assert body["verify_time"] == "2024-05-06T07:08:09Z"
    assert "disable_time" not in body
    assert body["wallet"] == '{"coins": 10}'
    assert body["user"]["metadata"] == '{"a": "x", "b": [1, 2]}'  # as PostgreSQL prints the jsonb value


async def test_get_account_of_a_user_gone_from_the_database(client: Client, state: ServerState) -> None:
    session = await new_session(client)
    await state.db.execute("DELETE FROM users WHERE id = %s", (claims_of(session["token"])["uid"],))
    assert await get_account(client, session["token"]) == (404, error(5, "Account not found."))


async def test_account_routes_need_a_session(client: Client) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, "/v2/account", headers=basic())
        assert (response.status, await response.json()) == (401, error(16, "Auth token invalid"))
        response = await client.request(method, "/v2/account")
        assert (response.status, await response.json()) == (401, error(16, "Auth token required"))


# --- PUT -----------------------------------------------------------------------------------------


async def test_update_every_field_and_read_it_back(client: Client) -> None:
    session = await new_session(client)
    username = "new_" + uuid.uuid4().hex[:8]
    update = {"username": username, "display_name": "Zoë 🎮 Ünïcødé", "avatar_url": "https://example.com/a.png",
              "lang_tag": "fr", "location": "Zürich", "timezone": "Europe/Zurich"}
    assert await put_account(client, session["token"], update) == (200, {})
    _, body = await get_account(client, session["token"])
    assert {key: body["user"][key] for key in update} == update


async def test_update_accepts_camel_case_and_ignores_nulls(client: Client) -> None:
    session = await new_session(client)
    assert await put_account(client, session["token"], {"displayName": "Camel", "avatarUrl": None,
                                                        "langTag": "de"}) == (200, {})
    _, body = await get_account(client, session["token"])
    assert body["user"]["display_name"] == "Camel" and body["user"]["lang_tag"] == "de"
    assert "avatar_url" not in body["user"]


async def test_an_empty_value_clears_the_field(client: Client) -> None:
    session = await new_session(client)
    await put_account(client, session["token"], {"display_name": "Shown", "location": "Here"})
    assert await put_account(client, session["token"], {"display_name": "", "location": ""}) == (200, {})
    _, body = await get_account(client, session["token"])
    assert "display_name" not in body["user"] and "location" not in body["user"]


async def test_unchanged_values_are_not_written(client: Client, state: ServerState) -> None:
    session = await new_session(client)
    user_id = claims_of(session["token"])["uid"]
    await put_account(client, session["token"], {"display_name": "Same"})
    await state.db.execute("UPDATE users SET update_time = '2020-01-01Z' WHERE id = %s", (user_id,))
    assert await put_account(client, session["token"], {"display_name": "Same"}) == (200, {})
    _, body = await get_account(client, session["token"])
    assert body["user"]["update_time"] == "2020-01-01T00:00:00Z"
    assert await put_account(client, session["token"], {"display_name": "Different"}) == (200, {})
    _, body = await get_account(client, session["token"])
    assert body["user"]["update_time"] != "2020-01-01T00:00:00Z"


@pytest.mark.parametrize(("update", "expected"), [
    ({}, (400, error(3, "No fields to update."))),
    ({"unknown": "x"}, (400, error(3, "No fields to update."))),
    ({"username": ""}, (400, error(3, "Username invalid, must be 1-128 bytes."))),
    ({"username": "é" * 65}, (400, error(3, "Username invalid, must be 1-128 bytes."))),
    ({"username": "tab\there"}, (400, error(3, "Username invalid, no spaces or control characters allowed."))),
    ({"lang_tag": ""}, (500, error(13, "Error while trying to update account."))),  # lang_tag is NOT NULL
    ({"display_name": "d" * 256}, (500, error(13, "Error while trying to update account."))),
    ({"avatar_url": "a" * 513}, (500, error(13, "Error while trying to update account."))),
    ({"lang_tag": "x" * 19}, (500, error(13, "Error while trying to update account."))),
    ({"timezone": 5}, None),
])
async def test_update_rules(client: Client, update: dict[str, Any], expected: tuple[int, Any] | None) -> None:
    session = await new_session(client)
    status, body = await put_account(client, session["token"], update)
    if expected is None:
        assert status == 400 and body["code"] == Code.INVALID_ARGUMENT
    else:
        assert (status, body) == expected


async def test_a_taken_username_is_reported_as_nakama_wraps_it(client: Client,
                                                                user_factory: Callable[..., Any]) -> None:
    other = await user_factory()
    session = await new_session(client)
    assert await put_account(client, session["token"], {"username": other.username}) == (
        400, error(3, "rpc error: code = AlreadyExists desc = Username is already in use."))


async def test_a_username_with_a_space_is_accepted(client: Client) -> None:
    session = await new_session(client)
    name = "with space " + uuid.uuid4().hex[:6]
    assert await put_account(client, session["token"], {"username": name}) == (200, {})
    _, body = await get_account(client, session["token"])
    assert body["user"]["username"] == name


# --- DELETE --------------------------------------------------------------------------------------


async def test_delete_account(client: Client, state: ServerState) -> None:
    device_id = f"device-{uuid.uuid4().hex[:12]}"
    _, session = await authenticate(client, "device", {"id": device_id})
    user_id = claims_of(session["token"])["uid"]
    response = await client.delete("/v2/account", headers=bearer(session["token"]))
    assert (response.status, await response.json()) == (200, {})
    assert await state.db.fetchval("SELECT count(*) FROM users WHERE id = %s", (user_id,)) == 0
    assert await state.db.fetchval("SELECT count(*) FROM user_device WHERE id = %s", (device_id,)) == 0
    assert await state.db.fetchval("SELECT count(*) FROM user_tombstone WHERE user_id = %s", (user_id,)) == 1
    assert await get_account(client, session["token"]) == (401, error(16, "Auth token invalid"))
    response = await client.post("/v2/account/session/refresh", json={"token": session["refresh_token"]},
                                 headers=basic())
    assert response.status == 401
    # signing in with the same device makes a new account
    _, again = await authenticate(client, "device", {"id": device_id})
    assert again["created"] is True and claims_of(again["token"])["uid"] != user_id


async def test_delete_handlers_run_inside_the_deleting_transaction(client: Client, state: ServerState) -> None:
    seen: list[tuple[str, int]] = []

    async def handler(user_id: str, conn: AsyncConnection[Any]) -> None:
        cur = await conn.execute("SELECT count(*) FROM users WHERE id = %s", (user_id,))
        row = await cur.fetchone()
        assert row is not None
        seen.append((user_id, row[0]))

    state.accounts.on_delete(handler)
    session = await new_session(client)
    assert (await client.delete("/v2/account", headers=bearer(session["token"]))).status == 200
    assert seen == [(claims_of(session["token"])["uid"], 0)]  # the user is already gone inside the transaction


async def test_a_failing_delete_handler_keeps_the_account(client: Client, state: ServerState) -> None:
    async def handler(user_id: str, conn: AsyncConnection[Any]) -> None:
        raise NakamaError("Error deleting user account.", Code.INTERNAL)

    state.accounts.on_delete(handler)
    session = await new_session(client)
    response = await client.delete("/v2/account", headers=bearer(session["token"]))
    assert (response.status, await response.json()) == (500, error(13, "Error deleting user account."))
    status, body = await get_account(client, session["token"])
    assert status == 200 and body["user"]["id"] == claims_of(session["token"])["uid"]


# --- the service, as the runtime calls it ---------------------------------------------------------


async def test_service_account_and_users(state: ServerState, client: Client) -> None:
    session = await new_session(client)
    user_id = claims_of(session["token"])["uid"]
    await state.accounts.update_account(user_id, metadata={"level": 3, "tags": ["a"]}, display_name="Runtime")
    account = await state.accounts.get_account(user_id)
    assert account.user.metadata == {"level": 3, "tags": ["a"]}
    assert account.user.display_name == "Runtime" and account.custom_id is not None
    assert account.disable_time is None and account.verify_time is None and account.wallet == {}
    assert account.user.create_time.tzinfo is not None and account.user.create_time <= datetime.now(UTC)
    _, body = await get_account(client, session["token"])
    assert body["user"]["metadata"] == '{"tags": ["a"], "level": 3}'

    users = await state.accounts.get_users(ids=[user_id], usernames=[account.user.username, "nobody-here"])
    assert [user.id for user in users] == [user_id]
    assert await state.accounts.get_users() == []
    with pytest.raises(NakamaError) as raised:
        await state.accounts.get_users(ids=["not-a-uuid"])
    assert raised.value.code == Code.INVALID_ARGUMENT
    with pytest.raises(NakamaError) as missing:
        await state.accounts.get_account(str(uuid.uuid4()))
    assert (missing.value.code, missing.value.message) == (5, "Account not found.")


async def test_service_update_rules(state: ServerState, user_factory: Callable[..., Any]) -> None:
    user, other = await user_factory(), await user_factory()
    with pytest.raises(NakamaError) as taken:
        await state.accounts.update_account(user.user_id, username=other.username)
    assert (taken.value.code, taken.value.message) == (6, "Username is already in use.")
    with pytest.raises(NakamaError) as nothing:
        await state.accounts.update_account(user.user_id, username="")
    assert (nothing.value.code, nothing.value.message) == (3, "No fields to update.")


async def test_service_delete_revokes_and_records(state: ServerState, client: Client) -> None:
    session = await new_session(client)
    user_id = claims_of(session["token"])["uid"]
    await state.accounts.delete_account(user_id, recorded=False)
    assert await state.db.fetchval("SELECT count(*) FROM user_tombstone WHERE user_id = %s", (user_id,)) == 0
    assert (await get_account(client, session["token"]))[0] == 401
    await state.accounts.delete_account(user_id)  # already gone: nothing to do
    with pytest.raises(NakamaError):
        await state.accounts.delete_account("00000000-0000-0000-0000-000000000000")


async def test_after_delete_handlers_run_once_the_account_is_gone(client: Client, state: ServerState) -> None:
    seen: list[tuple[str, int]] = []

    async def handler(user_id: str) -> None:
        seen.append((user_id, await state.db.fetchval("SELECT count(*) FROM users WHERE id = %s", (user_id,))))
        raise RuntimeError("a failing cleanup does not undo the deletion")

    state.accounts.after_delete(handler)
    session = await new_session(client)
    response = await client.delete("/v2/account", headers=bearer(session["token"]))
    assert (response.status, await response.json()) == (200, {})
    assert seen == [(claims_of(session["token"])["uid"], 0)]
    assert (await get_account(client, session["token"]))[0] == 401


async def test_deleting_an_account_drops_its_leaderboard_records(client: Client, state: ServerState) -> None:
    board = f"acct-board-{uuid.uuid4().hex[:8]}"
    await state.leaderboards.create(board)
    session = await new_session(client)
    user_id = claims_of(session["token"])["uid"]
    await state.leaderboards.write_record(board, user_id, score=10)
    assert [r.owner_id for r in (await state.leaderboards.list_records(board, limit=10)).records] == [user_id]
    assert (await client.delete("/v2/account", headers=bearer(session["token"]))).status == 200
    assert (await state.leaderboards.list_records(board, limit=10)).records == []
    await state.leaderboards.delete(board)
