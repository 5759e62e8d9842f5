"""POST /v2/account/link/{custom,device,email} and /v2/account/unlink/{custom,device,email}."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from nakama_py.route_hooks import Message
from nakama_py.state import ServerState
from nakama_py.wire.request_view import RequestView
from tests.support.auth import Client, authenticate, basic, bearer, claims_of, sign_in_custom

LAST_LINK = "Cannot unlink last account identifier. Check profile exists and is not last link."


def error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def call(client: Client, action: str, kind: str, token: str, body: Any) -> tuple[int, Any]:
    response = await client.post(f"/v2/account/{action}/{kind}", json=body, headers=bearer(token))
    return response.status, await response.json()


async def account(client: Client, token: str) -> dict[str, Any]:
    response = await client.get("/v2/account", headers=bearer(token))
    assert response.status == 200
    result: dict[str, Any] = await response.json()
    return result


async def device_session(client: Client) -> dict[str, Any]:
    status, body = await authenticate(client, "device", {"id": fresh("device")})
    assert status == 200
    return body


# --- custom ---------------------------------------------------------------------------------------


async def test_link_custom_then_sign_in_with_it(client: Client) -> None:
    session = await device_session(client)
    custom_id = fresh("linked")
    assert await call(client, "link", "custom", session["token"], {"id": custom_id}) == (200, {})
    assert (await account(client, session["token"]))["custom_id"] == custom_id
    assert await call(client, "link", "custom", session["token"], {"id": custom_id}) == (200, {})  # again: fine
    status, signed_in = await authenticate(client, "custom", {"id": custom_id}, query="create=false")
    assert status == 200 and claims_of(signed_in["token"])["uid"] == claims_of(session["token"])["uid"]


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Custom ID is required."),
    ({"id": "with space"}, "Invalid custom ID, no spaces or control characters allowed."),
    ({"id": "short"}, "Invalid custom ID, must be 6-128 bytes."),
    ({"id": "c" * 129}, "Invalid custom ID, must be 6-128 bytes."),
])
async def test_link_custom_rules(client: Client, body: Any, message: str) -> None:
    session = await device_session(client)
    assert await call(client, "link", "custom", session["token"], body) == (400, error(3, message))


async def test_link_custom_held_by_another_account(client: Client) -> None:
    custom_id = fresh("taken")
    await sign_in_custom(client, custom_id)
    session = await device_session(client)
    assert await call(client, "link", "custom", session["token"], {"id": custom_id}) == (
        409, error(6, "Custom ID is already in use."))


async def test_unlink_custom(client: Client) -> None:
    custom_id = fresh("only")
    session = await sign_in_custom(client, custom_id)
    token = session["token"]
    assert await call(client, "unlink", "custom", token, {"id": custom_id}) == (403, error(7, LAST_LINK))
    device_id = fresh("device")
    assert await call(client, "link", "device", token, {"id": device_id}) == (200, {})
    assert await call(client, "unlink", "custom", token, {"id": "someone-else"}) == (403, error(7, LAST_LINK))
    assert await call(client, "unlink", "custom", token, {"id": custom_id}) == (200, {})
    assert "custom_id" not in await account(client, token)
    assert (await authenticate(client, "custom", {"id": custom_id}, query="create=false"))[0] == 404


async def test_unlink_custom_without_an_id_removes_it(client: Client) -> None:
    session = await device_session(client)
    await call(client, "link", "custom", session["token"], {"id": fresh("any")})
    assert await call(client, "unlink", "custom", session["token"], {}) == (200, {})
    assert "custom_id" not in await account(client, session["token"])


# --- device ---------------------------------------------------------------------------------------


async def test_link_and_unlink_devices(client: Client) -> None:
    session = await sign_in_custom(client, fresh("devices"))
    token = session["token"]
    first, second = sorted([fresh("device"), fresh("device")])
    assert await call(client, "link", "device", token, {"id": first}) == (200, {})
    assert await call(client, "link", "device", token, {"id": second}) == (200, {})
    assert await call(client, "link", "device", token, {"id": first}) == (200, {})  # already mine
    assert (await account(client, token))["devices"] == [{"id": first}, {"id": second}]
    status, signed_in = await authenticate(client, "device", {"id": second}, query="create=false")
    assert status == 200 and claims_of(signed_in["token"])["uid"] == claims_of(token)["uid"]

    assert await call(client, "unlink", "device", token, {"id": first}) == (200, {})
    assert await call(client, "unlink", "device", token, {"id": second}) == (200, {})
    assert "devices" not in await account(client, token)
    assert await call(client, "unlink", "device", token, {"id": second}) == (403, error(7, LAST_LINK))


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Device ID is required."),
    ({"id": "dev ice id 1"}, "Device ID invalid, no spaces or control characters allowed."),
    ({"id": "short"}, "Device ID invalid, must be 10-128 bytes."),
])
async def test_link_device_rules(client: Client, body: Any, message: str) -> None:
    session = await device_session(client)
    assert await call(client, "link", "device", session["token"], body) == (400, error(3, message))


async def test_link_device_held_by_another_account(client: Client) -> None:
    other = await device_session(client)
    other_device = (await account(client, other["token"]))["devices"][0]["id"]
    session = await device_session(client)
    assert await call(client, "link", "device", session["token"], {"id": other_device}) == (
        409, error(6, "Device ID already in use."))


async def test_unlink_device_rules(client: Client) -> None:
    session = await device_session(client)
    device_id = (await account(client, session["token"]))["devices"][0]["id"]
    assert await call(client, "unlink", "device", session["token"], {}) == (
        400, error(3, "A device ID must be supplied."))
    assert await call(client, "unlink", "device", session["token"], {"id": device_id}) == (403, error(7, LAST_LINK))
    assert await call(client, "unlink", "device", session["token"], {"id": fresh("not-mine")}) == (
        403, error(7, LAST_LINK))


async def test_concurrent_unlinks_never_remove_the_last_way_to_sign_in(client: Client) -> None:
    for _ in range(5):
        session = await device_session(client)
        token = session["token"]
        first = (await account(client, token))["devices"][0]["id"]
        second = fresh("device")
        await call(client, "link", "device", token, {"id": second})
        results = await asyncio.gather(call(client, "unlink", "device", token, {"id": first}),
                                       call(client, "unlink", "device", token, {"id": second}))
        assert sorted(status for status, _ in results) == [200, 403]
        assert len((await account(client, token))["devices"]) == 1


# --- email ----------------------------------------------------------------------------------------


async def test_link_email_then_sign_in_with_it(client: Client) -> None:
    session = await device_session(client)
    email = f"Linked.{uuid.uuid4().hex[:8]}@Example.com"
    assert await call(client, "link", "email", session["token"], {"email": email, "password": "password1"}) == (
        200, {})
    assert (await account(client, session["token"]))["email"] == email.lower()
    status, signed_in = await authenticate(client, "email", {"email": email, "password": "password1"},
                                           query="create=false")
    assert status == 200 and claims_of(signed_in["token"])["uid"] == claims_of(session["token"])["uid"]


@pytest.mark.parametrize(("body", "message"), [
    ({"email": "someone@example.com"}, "Email address and password is required."),
    ({"password": "password1"}, "Email address and password is required."),
    ({"email": "has space@example.com", "password": "password1"},
     "Invalid email address, no spaces or control characters allowed."),
    ({"email": "not-an-email", "password": "short"}, "Password must be at least 8 characters long."),
    ({"email": "not-an-email", "password": "password1"}, "Invalid email address format."),
    ({"email": "a@b.co", "password": "password1"}, "Invalid email address, must be 10-255 bytes."),
])
async def test_link_email_rules(client: Client, body: Any, message: str) -> None:
    session = await device_session(client)
    assert await call(client, "link", "email", session["token"], body) == (400, error(3, message))


async def test_link_email_held_by_another_account(client: Client) -> None:
    email = f"held{uuid.uuid4().hex[:8]}@example.com"
    await authenticate(client, "email", {"email": email, "password": "password1"})
    session = await device_session(client)
    assert await call(client, "link", "email", session["token"], {"email": email.upper(), "password": "password2"}) == (
        409, error(6, "Email is already in use."))


async def test_link_email_with_a_password_bcrypt_cannot_take(client: Client) -> None:
    # Nakama ignores the hashing error: the email is linked with no password, so it cannot sign in.
    session = await device_session(client)
    email = f"long{uuid.uuid4().hex[:8]}@example.com"
    assert await call(client, "link", "email", session["token"], {"email": email, "password": "p" * 80}) == (200, {})
    assert await authenticate(client, "email", {"email": email, "password": "p" * 80}) == (
        401, error(16, "Invalid credentials."))


async def test_unlink_email_removes_email_and_password(client: Client, state: ServerState) -> None:
    email = f"unlink{uuid.uuid4().hex[:8]}@example.com"
    _, session = await authenticate(client, "email", {"email": email, "password": "password1"})
    token = session["token"]
    assert await call(client, "unlink", "email", token, {"email": email}) == (403, error(7, LAST_LINK))
    await call(client, "link", "custom", token, {"id": fresh("keep")})
    assert await call(client, "unlink", "email", token, {"email": "other@example.com"}) == (403, error(7, LAST_LINK))
    assert await call(client, "unlink", "email", token, {"email": email.upper()}) == (200, {})
    assert "email" not in await account(client, token)
    assert await state.db.fetchval("SELECT password FROM users WHERE id = %s", (claims_of(token)["uid"],)) is None


# --- auth and hooks -------------------------------------------------------------------------------


async def test_link_routes_need_a_session(client: Client) -> None:
    for action in ("link", "unlink"):
        for kind in ("custom", "device", "email"):
            response = await client.post(f"/v2/account/{action}/{kind}", json={}, headers=basic())
            assert (response.status, await response.json()) == (401, error(16, "Auth token invalid"))


class NamedHooks:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Message]] = []

    def has_before(self, name: str) -> bool:
        return True

    def has_after(self, name: str) -> bool:
        return False

    async def run_before(self, name: str, request: RequestView, message: Message) -> Message:
        self.seen.append((name, json.loads(json.dumps(message))))
        return message

    async def run_after(self, name: str, request: RequestView, message: Message, reply: Any) -> None:
        return None


async def test_link_hooks_use_nakamas_method_names(client: Client, state: ServerState) -> None:
    session = await device_session(client)
    hooks = NamedHooks()
    state.hooks = hooks
    device_id = fresh("device")
    await call(client, "link", "device", session["token"], {"id": device_id, "vars": {"k": "v"}})
    await call(client, "link", "custom", session["token"], {"id": fresh("custom")})
    await call(client, "link", "email", session["token"], {"email": "x@example.com", "password": "password1"})
    await call(client, "unlink", "device", session["token"], {"id": device_id})
    await call(client, "unlink", "custom", session["token"], {})
    await call(client, "unlink", "email", session["token"], {"email": "x@example.com"})
    assert [name for name, _ in hooks.seen] == ["LinkDevice", "LinkCustom", "LinkEmail", "UnlinkDevice",
                                                "UnlinkCustom", "UnlinkEmail"]
    assert hooks.seen[0][1] == {"id": device_id, "vars": {"k": "v"}}
