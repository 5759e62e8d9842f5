"""Nakama's login attempt limits on email/username passwords and custom IDs, shared through the database.

Each test signs in from its own X-Forwarded-For address (the loopback is never locked) and its own
accounts, so the tests share one database without locking each other out."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from nakama_py.app import build_app
from nakama_py.config import ConfigError, load_config
from nakama_py.state import build_state
from tests.conftest import ConfigFactory
from tests.support.auth import Client, basic
from tests.support.wire_server import WireTestServer

TRY_AGAIN_LATER = {"code": 8, "message": "Try again later."}
INVALID_CREDENTIALS = {"code": 16, "message": "Invalid credentials."}
# Long enough for five bcrypt checks on a loaded machine, short enough to wait out.
WINDOW_SEC = 5
_addresses = itertools.count(1)


def new_address() -> str:
    """A documentation-range address (RFC 5737) of this test's own."""
    return f"198.51.{secrets.randbelow(250) + 1}.{next(_addresses) % 250 + 1}"


async def _server(make_config: ConfigFactory, database_url: str, aiohttp_client: Any,
                  window_sec: int) -> AsyncIterator[Client]:
    state = await build_state(make_config("--session.login_lockout_account_sec", str(window_sec),
                                          "--session.login_lockout_ip_sec", str(window_sec),
                                          "--session.bcrypt_cost", "10"), database_url)
    try:
        yield await aiohttp_client(WireTestServer(build_app(state)))
    finally:
        await state.close()


@pytest.fixture
async def limited(make_config: ConfigFactory, database_url: str, aiohttp_client: Any) -> AsyncIterator[Client]:
    """Nakama's thresholds with a window short enough to wait out (the tests that see a lock end)."""
    async for client in _server(make_config, database_url, aiohttp_client, WINDOW_SEC):
        yield client


@pytest.fixture
async def steady(make_config: ConfigFactory, database_url: str, aiohttp_client: Any) -> AsyncIterator[Client]:
    """Nakama's thresholds and windows: however slow a loaded machine signs in, no failure ages out."""
    async for client in _server(make_config, database_url, aiohttp_client, 600):
        yield client


async def sign_in(client: Client, kind: str, body: dict[str, str], address: str | None,
                  create: bool = False) -> tuple[int, dict[str, Any]]:
    headers = basic() | ({"X-Forwarded-For": address} if address else {})
    response = await client.post(f"/v2/account/authenticate/{kind}?create={str(create).lower()}",
                                 json=body, headers=headers)
    return response.status, await response.json()


async def new_email_account(client: Client, address: str) -> tuple[str, str, str]:
    email, username, password = (f"{uuid.uuid4().hex[:12]}@example.com", f"u{uuid.uuid4().hex[:12]}",
                                 "right-password")
    response = await client.post(f"/v2/account/authenticate/email?create=true&username={username}",
                                 json={"email": email, "password": password},
                                 headers=basic() | {"X-Forwarded-For": address})
    assert response.status == 200, await response.json()
    return email, username, password


async def test_five_wrong_passwords_lock_the_account_for_the_window(limited: Client) -> None:
    address = new_address()
    email, _, password = await new_email_account(limited, address)
    for _ in range(5):
        assert await sign_in(limited, "email", {"email": email, "password": "wrong-password"}, address) == (
            401, INVALID_CREDENTIALS)
    # Locked: even the right password, from any address, is refused before it is checked.
    assert await sign_in(limited, "email", {"email": email, "password": password}, address) == (429, TRY_AGAIN_LATER)
    assert await sign_in(limited, "email", {"email": email, "password": password}, new_address()) == (
        429, TRY_AGAIN_LATER)
    await asyncio.sleep(WINDOW_SEC + 0.5)
    assert (await sign_in(limited, "email", {"email": email, "password": password}, address))[0] == 200


async def test_refused_attempts_neither_extend_nor_renew_a_lock(limited: Client) -> None:
    email, _, password = await new_email_account(limited, new_address())
    for _ in range(5):
        await sign_in(limited, "email", {"email": email, "password": "wrong-password"}, new_address())
    # An attacker keeps hammering through the lock from fresh addresses: every try is refused, none counts.
    loop = asyncio.get_running_loop()
    locked_at = loop.time()
    while loop.time() - locked_at < WINDOW_SEC + 0.3:
        assert await sign_in(limited, "email", {"email": email, "password": "wrong-password"}, new_address()) in (
            (429, TRY_AGAIN_LATER), (401, INVALID_CREDENTIALS))
        status, _ = await sign_in(limited, "email", {"email": email, "password": password}, new_address())
        if status == 200:
            break
        await asyncio.sleep(0.2)
    assert loop.time() - locked_at <= WINDOW_SEC + 1.5
    assert (await sign_in(limited, "email", {"email": email, "password": password}, new_address()))[0] == 200


async def test_a_success_clears_the_accounts_failures(steady: Client) -> None:
    address = new_address()
    email, _, password = await new_email_account(steady, address)
    for _ in range(2):
        for _ in range(4):
            status, _ = await sign_in(steady, "email", {"email": email, "password": "wrong-password"}, new_address())
            assert status == 401
        assert (await sign_in(steady, "email", {"email": email, "password": password}, new_address()))[0] == 200


async def test_username_and_email_count_against_one_account(steady: Client) -> None:
    email, username, password = await new_email_account(steady, new_address())
    for _ in range(3):
        await sign_in(steady, "email", {"email": email, "password": "wrong-password"}, new_address())
    for _ in range(2):
        response = await steady.post(f"/v2/account/authenticate/email?create=false&username={username}",
                                      json={"password": "wrong-password"},
                                      headers=basic() | {"X-Forwarded-For": new_address()})
        assert response.status == 401
    response = await steady.post(f"/v2/account/authenticate/email?create=false&username={username}",
                                  json={"password": password}, headers=basic() | {"X-Forwarded-For": new_address()})
    assert (response.status, await response.json()) == (429, TRY_AGAIN_LATER)
    assert await sign_in(steady, "email", {"email": email, "password": password}, new_address()) == (
        429, TRY_AGAIN_LATER)


async def test_unknown_custom_ids_lock_the_address_not_others(limited: Client) -> None:
    address, other = new_address(), new_address()
    known = f"known-{uuid.uuid4().hex}"
    assert (await sign_in(limited, "custom", {"id": known}, other, create=True))[0] == 200
    for _ in range(10):
        status, body = await sign_in(limited, "custom", {"id": f"guess-{uuid.uuid4().hex}"}, address)
        assert (status, body["code"]) == (404, 5)
    # The address is locked for every kind of custom sign-in, found or created, without saying which.
    assert await sign_in(limited, "custom", {"id": known}, address) == (429, TRY_AGAIN_LATER)
    assert await sign_in(limited, "custom", {"id": f"new-{uuid.uuid4().hex}"}, address, create=True) == (
        429, TRY_AGAIN_LATER)
    assert await sign_in(limited, "email", {"email": "nobody@example.com", "password": "whatever1"}, address) == (
        429, TRY_AGAIN_LATER)
    # Another address, and the same account from it, are untouched.
    assert (await sign_in(limited, "custom", {"id": known}, other))[0] == 200
    await asyncio.sleep(WINDOW_SEC + 0.5)
    assert (await sign_in(limited, "custom", {"id": known}, address))[0] == 200


async def test_unknown_emails_count_against_the_address(steady: Client) -> None:
    address = new_address()
    for _ in range(10):
        status, _ = await sign_in(steady, "email", {"email": f"{uuid.uuid4().hex}@example.com",
                                                      "password": "whatever1"}, address)
        assert status == 404
    assert await sign_in(steady, "email", {"email": "x@example.com", "password": "whatever1"}, address) == (
        429, TRY_AGAIN_LATER)


async def test_the_loopback_address_is_never_locked(steady: Client) -> None:
    for _ in range(12):
        status, _ = await sign_in(steady, "custom", {"id": f"guess-{uuid.uuid4().hex}"}, None)
        assert status == 404


async def test_device_sign_ins_are_not_limited_as_in_nakama(steady: Client) -> None:
    address = new_address()
    for _ in range(12):
        status, _ = await sign_in(steady, "device", {"id": f"device-{uuid.uuid4().hex}"}, address)
        assert status == 404
    assert (await sign_in(steady, "device", {"id": f"device-{uuid.uuid4().hex}"}, address, create=True))[0] == 200


async def test_bcrypt_cost_is_the_configured_one(make_config: ConfigFactory, database_url: str) -> None:
    state = await build_state(make_config("--session.bcrypt_cost", "11"), database_url)
    try:
        result = await state.accounts.authenticate_email(f"{uuid.uuid4().hex[:12]}@example.com", "a-password")
        stored = await state.db.fetchval("SELECT password FROM users WHERE id = %(id)s", {"id": result.user_id})
        assert bytes(stored).startswith(b"$2a$11$")
    finally:
        await state.close()


def test_bcrypt_cost_below_nakamas_floor_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"session\.bcrypt_cost"):
        load_config(flags={"session.bcrypt_cost": ["4"]}, environ={})
    assert load_config(environ={}).session.bcrypt_cost == 13
