"""The web console over HTTP: sign-in, sessions, CSRF, the sign-in rate limit, roles, the audit log,
and the pages' changes as users of the API then see them (real PostgreSQL, the console's own app)."""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.console.app import build_console_app
from nakama_py.core.storage import StorageObjectId, StorageWrite
from nakama_py.errors import Code, NakamaError
from nakama_py.state import ServerState
from tests.support.users import TestUser

Client = TestClient[web.Request, web.Application]
ConsoleFactory = Callable[[], Awaitable[Client]]


@pytest.fixture
def console_factory(state: ServerState, aiohttp_client: Callable[..., Any]) -> ConsoleFactory:
    """A fresh browser-like client (its own cookie jar) of the console for ``state``."""
    async def factory() -> Client:
        client: Client = await aiohttp_client(build_console_app(state))
        return client

    return factory


async def sign_in(console: Client, username: str = "admin", password: str = "password") -> int:
    async with console.post("/signin", data={"username": username, "password": password},
                            allow_redirects=False) as response:
        return response.status


async def csrf_of(console: Client, path: str = "/status") -> str:
    async with console.get(path) as response:
        assert response.status == 200, await response.text()
        found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', await response.text())
    assert found is not None
    return found.group(1)


async def post(console: Client, path: str, data: dict[str, str]) -> tuple[int, str]:
    async with console.post(path, data=data, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", "") or await response.text()


async def test_every_page_needs_a_session(console_factory: ConsoleFactory) -> None:
    console = await console_factory()
    for path in ("/", "/status", "/config", "/runtime", "/explorer", "/accounts", "/storage", "/leaderboards",
                 "/racing", "/users"):
        async with console.get(path, allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] in ("/signin", "/status")
    status, _ = await post(console, "/explorer", {"rpc": "x"})
    assert status == 401
    async with console.get("/signin") as response:
        assert response.status == 200
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert response.headers["X-Frame-Options"] == "DENY"


async def test_sign_in_and_out(console_factory: ConsoleFactory) -> None:
    console = await console_factory()
    assert await sign_in(console, password="wrong") == 401
    async with console.post("/signin", data={"username": "admin", "password": "password"},
                            allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/status"
        set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith("nakama_py_console=") and "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    csrf = await csrf_of(console)
    copied = console.session.cookie_jar.filter_cookies(console.make_url("/"))["nakama_py_console"].value
    assert (await post(console, "/signout", {"csrf": csrf}))[0] == 303
    async with console.get("/status", allow_redirects=False) as response:
        assert response.status == 303
    # A copy of the signed-out session's cookie stops working too.
    console.session.cookie_jar.update_cookies({"nakama_py_console": copied}, console.make_url("/"))
    async with console.get("/status", allow_redirects=False) as response:
        assert response.status == 303


async def test_a_forged_session_is_refused(console_factory: ConsoleFactory) -> None:
    console = await console_factory()
    forged = jwt.encode({"usn": "admin", "sid": "x", "exp": 4102444800}, "not-the-key", algorithm="HS256")
    console.session.cookie_jar.update_cookies({"nakama_py_console": forged}, console.make_url("/"))
    async with console.get("/status", allow_redirects=False) as response:
        assert response.status == 303


async def test_sign_in_is_rate_limited(console_factory: ConsoleFactory, caplog: pytest.LogCaptureFixture) -> None:
    # A console user of this test's own: the limits are shared through the session's database, so locking
    # the configured admin would lock every later test out of it for a minute.
    admin = await console_factory()
    assert await sign_in(admin) == 303
    name = "locked_" + secrets.token_hex(3)
    status, _ = await post(admin, "/users", {"csrf": await csrf_of(admin), "username": name,
                                             "password": "long-enough-pw", "role": "4"})
    assert status == 303
    console = await console_factory()
    caplog.set_level(logging.INFO, logger="nakama_py.console.audit")
    for _ in range(5):
        assert await sign_in(console, name, "guess-guess") == 401
    async with console.post("/signin", data={"username": name, "password": "long-enough-pw"},
                            allow_redirects=False) as response:
        assert response.status == 429  # even the right password, until the window passes
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert "Too many failed sign-ins" in await response.text()
    refused = [r for r in caplog.records if r.getMessage() == "console: sign-in refused"]
    assert len(refused) == 5
    # Another console user, from the same (loopback) address, is not locked.
    assert await sign_in(await console_factory()) == 303


async def test_changes_need_the_csrf_token(console_factory: ConsoleFactory, state: ServerState,
                                           alice: TestUser) -> None:
    console = await console_factory()
    assert await sign_in(console) == 303
    status, text = await post(console, f"/accounts/{alice.user_id}/ban", {})
    assert status == 403 and "CSRF" in text
    status, _ = await post(console, f"/accounts/{alice.user_id}/ban", {"csrf": "0" * 64})
    assert status == 403
    assert (await state.accounts.get_account(alice.user_id)).disable_time is None
    other = await console_factory()  # another session's token does not fit this one
    assert await sign_in(other) == 303
    status, _ = await post(console, f"/accounts/{alice.user_id}/ban", {"csrf": await csrf_of(other)})
    assert status == 403


async def test_ban_refuses_the_players_next_call_and_unban_lets_them_sign_in(
        console_factory: ConsoleFactory, client: Client, alice: TestUser, state: ServerState,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="nakama_py.console.audit")
    async with client.get("/v2/account", headers=alice.auth) as response:
        assert response.status == 200
    console = await console_factory()
    assert await sign_in(console) == 303
    csrf = await csrf_of(console)
    status, location = await post(console, f"/accounts/{alice.user_id}/ban", {"csrf": csrf})
    assert status == 303 and location.startswith(f"/accounts/{alice.user_id}")
    async with client.get("/v2/account", headers=alice.auth) as response:
        assert response.status == 401
    async with console.get(f"/accounts/{alice.user_id}") as response:
        assert "banned" in await response.text()
    audit = [r for r in caplog.records if r.getMessage() == "console: banned an account"]
    assert len(audit) == 1 and audit[0].__dict__["fields"]["actor"] == "admin"
    assert audit[0].__dict__["fields"]["user_id"] == alice.user_id
    assert (await post(console, f"/accounts/{alice.user_id}/unban", {"csrf": csrf}))[0] == 303
    assert (await state.accounts.get_account(alice.user_id)).disable_time is None


async def test_account_search_profile_wallet_export_and_delete(console_factory: ConsoleFactory,
                                                               state: ServerState) -> None:
    custom = "custom-" + secrets.token_hex(4)
    device = "device-" + secrets.token_hex(6)
    signed = await state.accounts.authenticate_custom(custom, username="racer_" + secrets.token_hex(3))
    await state.accounts.link_device(signed.user_id, device)
    console = await console_factory()
    assert await sign_in(console) == 303
    for query in (signed.user_id, signed.username, custom, device, signed.username[:8]):
        async with console.get("/accounts", params={"q": query}) as response:
            assert signed.user_id in await response.text(), query
    csrf = await csrf_of(console)
    status, _ = await post(console, f"/accounts/{signed.user_id}/profile", {
        "csrf": csrf, "username": signed.username, "display_name": "Ada L.", "avatar_url": "", "lang_tag": "fr",
        "location": "", "timezone": "", "metadata": '{"vip": true}'})
    assert status == 303
    account = await state.accounts.get_account(signed.user_id)
    assert (account.user.display_name, account.user.lang_tag, account.user.metadata) == ("Ada L.", "fr", {"vip": True})
    status, text = await post(console, f"/accounts/{signed.user_id}/profile", {"csrf": csrf, "metadata": "[1"})
    assert status == 400 and "Metadata is not valid JSON" in text
    status, _ = await post(console, f"/accounts/{signed.user_id}/wallet", {"csrf": csrf, "changeset": '{"coins": 25}'})
    assert status == 303
    assert (await state.accounts.get_account(signed.user_id)).wallet == {"coins": 25}
    async with console.get(f"/accounts/{signed.user_id}/export") as response:
        exported = json.loads(await response.text())
    assert exported["account"]["user"]["id"] == signed.user_id
    assert exported["account"]["devices"] == [device]
    assert exported["wallet_ledgers"][0]["changeset"] == {"coins": 25}
    status, location = await post(console, f"/accounts/{signed.user_id}/delete", {"csrf": csrf, "confirm": "nope"})
    assert status == 303 and "err=" in location
    assert (await post(console, f"/accounts/{signed.user_id}/delete",
                       {"csrf": csrf, "confirm": signed.username}))[0] == 303
    assert await state.accounts.get_users(ids=[signed.user_id]) == []


async def test_storage_edit_checks_the_version(console_factory: ConsoleFactory, state: ServerState,
                                               alice: TestUser) -> None:
    first = (await state.storage.write([StorageWrite("saves", "slot1", '{"level": 1}', user_id=alice.user_id)]))[0]
    console = await console_factory()
    assert await sign_in(console) == 303
    url = f"/storage/saves/slot1/{alice.user_id}"
    csrf = await csrf_of(console, url)
    # Someone else saves after the page was opened: the page's version is stale.
    await state.storage.write([StorageWrite("saves", "slot1", '{"level": 2}', user_id=alice.user_id)])
    status, location = await post(console, url, {"csrf": csrf, "version": first.version, "value": '{"level": 9}',
                                                 "permission_read": "1", "permission_write": "1"})
    assert status == 303 and "version+check+failed" in location.replace("%20", "+")
    stored = await state.storage.read([StorageObjectId("saves", "slot1", alice.user_id)])
    assert json.loads(stored[0].value) == {"level": 2}
    status, location = await post(console, url, {"csrf": csrf, "version": stored[0].version,
                                                 "value": '{"level": 9}', "permission_read": "2",
                                                 "permission_write": "1"})
    assert status == 303 and "msg=" in location
    stored = await state.storage.read([StorageObjectId("saves", "slot1", alice.user_id)])
    assert json.loads(stored[0].value) == {"level": 9} and stored[0].permission_read == 2
    status, _ = await post(console, url + "/delete", {"csrf": csrf, "version": first.version})
    assert status == 303 and await state.storage.read([StorageObjectId("saves", "slot1", alice.user_id)])
    assert (await post(console, url + "/delete", {"csrf": csrf, "version": stored[0].version}))[0] == 303
    assert await state.storage.read([StorageObjectId("saves", "slot1", alice.user_id)]) == []


async def test_roles_limit_what_a_console_user_may_do(console_factory: ConsoleFactory, alice: TestUser,
                                                      state: ServerState) -> None:
    admin = await console_factory()
    assert await sign_in(admin) == 303
    name = "viewer_" + secrets.token_hex(3)
    status, location = await post(admin, "/users", {"csrf": await csrf_of(admin), "username": name,
                                                    "password": "long-enough-pw", "role": "4"})
    assert status == 303 and "msg=" in location
    viewer = await console_factory()
    assert await sign_in(viewer, name, "wrong-password") == 401
    assert await sign_in(viewer, name, "long-enough-pw") == 303
    csrf = await csrf_of(viewer)
    async with viewer.get(f"/accounts/{alice.user_id}") as response:
        assert response.status == 200
    status, text = await post(viewer, f"/accounts/{alice.user_id}/ban", {"csrf": csrf})
    assert status == 403 and "read-only role may not edit data" in text
    assert (await state.accounts.get_account(alice.user_id)).disable_time is None
    async with viewer.get("/users") as response:
        assert response.status == 403
    status, _ = await post(viewer, "/explorer", {"csrf": csrf, "rpc": "anything"})
    assert status == 403
    # Deleting the user ends their session at once.
    assert (await post(admin, f"/users/{name}/delete", {"csrf": await csrf_of(admin)}))[0] == 303
    async with viewer.get("/status", allow_redirects=False) as response:
        assert response.status == 303


async def test_configuration_masks_secrets_and_names_sources(state: ServerState,
                                                             aiohttp_client: Callable[..., Any],
                                                             make_config: Callable[..., Any]) -> None:
    from nakama_py.state import build_state

    config = make_config("--runtime.http_key", "topsecret-http-key", "--console.signing_key", "topsecret-signing")
    own = await build_state(config, state.db.conninfo)
    try:
        console: Client = await aiohttp_client(build_console_app(own))
        assert await sign_in(console) == 303
        async with console.get("/config") as response:
            page = await response.text()
        assert "topsecret" not in page
        row = re.search(r"<code>runtime.http_key</code></td><td><code>([^<]*)</code></td><td>([^<]*)</td>", page)
        assert row is not None and row.groups() == ("********", "flag")
        assert re.search(r"<code>socket.port</code></td><td><code>7350</code></td><td>default</td>", page)
    finally:
        await own.close()


async def test_leaderboard_records_page_and_delete(console_factory: ConsoleFactory, state: ServerState,
                                                   alice: TestUser, bob: TestUser) -> None:
    board = "console_board_" + secrets.token_hex(3)
    await state.leaderboards.create(board, sort_order="desc")
    await state.leaderboards.write_record(board, alice.user_id, username=alice.username, score=10)
    await state.leaderboards.write_record(board, bob.user_id, username=bob.username, score=20)
    console = await console_factory()
    assert await sign_in(console) == 303
    async with console.get("/leaderboards") as response:
        assert board in await response.text()
    async with console.get(f"/leaderboards/{board}") as response:
        page = await response.text()
    assert page.index(bob.username) < page.index(alice.username)  # rank order
    status, _ = await post(console, f"/leaderboards/{board}/records/{bob.user_id}/delete",
                           {"csrf": await csrf_of(console)})
    assert status == 303
    remaining = await state.leaderboards.list_records(board, limit=10)
    assert [r.owner_id for r in remaining.records] == [alice.user_id]


async def test_the_explorer_calls_as_a_user_by_id_or_username_but_not_a_banned_one(state: ServerState,
                                                                                   alice: TestUser) -> None:
    for who in (alice.user_id, alice.username):
        session = await state.accounts.operator_session(who)
        assert state.sessions.verify_session(session.token).user_id == alice.user_id
    with pytest.raises(NakamaError) as missing:
        await state.accounts.operator_session("nobody-" + secrets.token_hex(4))
    assert missing.value.code == Code.NOT_FOUND
    await state.accounts.ban(alice.user_id)
    with pytest.raises(NakamaError) as banned:
        await state.accounts.operator_session(alice.username)
    assert (banned.value.code, banned.value.message) == (Code.PERMISSION_DENIED, "User account banned.")


async def test_every_page_renders_without_game_modules(console_factory: ConsoleFactory) -> None:
    # (The session's database may hold another test's racing board: the Racing page then shows its history.)
    console = await console_factory()
    assert await sign_in(console) == 303
    for path in ("/status", "/status.json", "/config", "/runtime", "/explorer", "/accounts", "/storage",
                 "/leaderboards", "/racing", "/users"):
        async with console.get(path) as response:
            assert response.status == 200, (path, await response.text())
    async with console.get("/racing/cycles/12") as response:
        assert response.status == 404


def test_console_assets_ship_in_the_package() -> None:
    """Every template and static file is package data (the wheel serves the console with no build step)."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["nakama_py"]
    assets = [path.relative_to(root / "nakama_py").as_posix()
              for folder in ("templates", "static") for path in (root / "nakama_py" / "console" / folder).iterdir()]
    assert assets
    for asset in assets:
        assert any(fnmatch.fnmatch(asset, pattern) for pattern in patterns), asset
