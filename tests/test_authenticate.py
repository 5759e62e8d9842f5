"""POST /v2/account/authenticate/*: Nakama's rules, messages and create/lookup semantics, against PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from nakama_py.app import build_app
from nakama_py.core import authentication, passwords
from nakama_py.errors import Code, NakamaError
from nakama_py.route_hooks import Message
from nakama_py.state import ServerState, build_state
from nakama_py.wire.request_view import RequestView
from tests.conftest import ConfigFactory
from tests.support.auth import Client, authenticate, basic, bearer, claims_of, token_parts
from tests.support.wire_server import WireTestServer


def unique(prefix: str = "id") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


async def user_count(state: ServerState) -> int:
    return int(await state.db.fetchval("SELECT count(*) FROM users"))


@pytest.fixture
async def configured_client(make_config: ConfigFactory, database_url: str,
                            aiohttp_client: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    """A client for a server started with extra flags (e.g. social provider settings)."""
    states: list[ServerState] = []

    async def factory(*flags: str) -> tuple[Client, ServerState]:
        server_state = await build_state(make_config(*flags), database_url)
        states.append(server_state)
        return await aiohttp_client(WireTestServer(build_app(server_state))), server_state

    yield factory
    for server_state in states:
        await server_state.close()


# --- sessions handed out ------------------------------------------------------------------------


async def test_new_custom_account_gets_a_session_with_nakamas_claims(client: Client) -> None:
    custom_id = unique()
    status, body = await authenticate(client, "custom", {"id": custom_id})
    assert status == 200
    assert list(body) == ["created", "token", "refresh_token"]
    assert body["created"] is True

    header, claims, _ = token_parts(body["token"])
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert list(claims) == ["tid", "uid", "usn", "exp", "iat"]  # no vrs without vars
    assert uuid.UUID(claims["uid"])
    assert len(claims["usn"]) == 10 and claims["usn"].isascii() and claims["usn"].isalpha()
    assert claims["exp"] == claims["iat"] + 60
    refresh = claims_of(body["refresh_token"])
    assert refresh["tid"] == claims["tid"] and refresh["iat"] == claims["iat"] and refresh["uid"] == claims["uid"]
    assert refresh["exp"] == refresh["iat"] + 3600
    assert body["token"] != body["refresh_token"]


async def test_existing_account_is_found_and_the_supplied_username_ignored(client: Client) -> None:
    custom_id = unique()
    _, first = await authenticate(client, "custom", {"id": custom_id}, query="username=first_name")
    status, second = await authenticate(client, "custom", {"id": custom_id}, query="username=other_name")
    assert status == 200
    assert "created" not in second
    assert claims_of(second["token"])["uid"] == claims_of(first["token"])["uid"]
    assert claims_of(second["token"])["usn"] == "first_name"
    assert claims_of(second["token"])["tid"] != claims_of(first["token"])["tid"]


async def test_create_false(client: Client) -> None:
    custom_id = unique()
    assert await authenticate(client, "custom", {"id": custom_id}, query="create=false") == (
        404, error(5, "User account not found."))
    await authenticate(client, "custom", {"id": custom_id})
    for spelling in ("false", "0", "F", "FALSE"):
        status, body = await authenticate(client, "custom", {"id": custom_id}, query=f"create={spelling}")
        assert status == 200 and "created" not in body


async def test_create_must_parse_as_a_go_bool(client: Client) -> None:
    status, body = await authenticate(client, "custom", {"id": unique()}, query="create=maybe")
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT


async def test_trailing_separators_and_an_empty_username_are_tolerated(client: Client) -> None:
    status, body = await authenticate(client, "custom", {"id": unique()}, query="create=true&username=&")
    assert status == 200 and body["created"] is True
    assert len(claims_of(body["token"])["usn"]) == 10


async def test_vars_go_into_both_tokens(client: Client) -> None:
    status, body = await authenticate(client, "custom", {"id": unique(), "vars": {"region": "eu", "tier": "2"}})
    assert status == 200
    assert claims_of(body["token"])["vrs"] == {"region": "eu", "tier": "2"}
    assert claims_of(body["refresh_token"])["vrs"] == {"region": "eu", "tier": "2"}
    assert list(claims_of(body["token"])) == ["tid", "uid", "usn", "vrs", "exp", "iat"]


async def test_vars_must_be_strings(client: Client) -> None:
    status, body = await authenticate(client, "custom", {"id": unique(), "vars": {"level": 3}})
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT


async def test_claims_are_safe_for_plain_base64_decoders(client: Client) -> None:
    """clients.md §0.9: no '-' or '_' in the claims segment, whatever the username or vars hold."""
    status, body = await authenticate(client, "custom", {"id": unique(), "vars": {"q": "why?~>", "name": "José"}},
                                      query="username=who%3F~%3E%C3%A9" + uuid.uuid4().hex[:6])
    assert status == 200
    for token in (body["token"], body["refresh_token"]):
        _, claims, segment = token_parts(token)
        assert "-" not in segment and "_" not in segment
        assert base64.b64decode(segment + "=" * (-len(segment) % 4)).isascii()
        assert claims["usn"].startswith("who?~>é")
        assert claims["vrs"] == {"q": "why?~>", "name": "José"}


async def test_unknown_body_fields_are_ignored(client: Client) -> None:
    status, body = await authenticate(client, "custom", {"id": unique(), "unknownField": {"x": 1}})
    assert status == 200 and body["created"] is True


# --- server key ---------------------------------------------------------------------------------


async def test_server_key_is_required(client: Client) -> None:
    body = {"id": unique()}
    assert await authenticate(client, "custom", body, headers={}) == (401, error(16, "Server key required"))
    assert await authenticate(client, "custom", body, headers=basic("wrongkey")) == (
        401, error(16, "Server key invalid"))
    no_colon = {"Authorization": "Basic " + base64.b64encode(b"defaultkey").decode()}
    assert await authenticate(client, "custom", body, headers=no_colon) == (401, error(16, "Server key invalid"))
    assert await authenticate(client, "custom", body, headers=bearer("x.y.z")) == (
        401, error(16, "Server key invalid"))
    status, _ = await authenticate(client, "custom", body, headers=basic(password="ignored"))
    assert status == 200


async def test_the_body_is_decoded_before_the_server_key_is_checked(client: Client) -> None:
    status, body = await authenticate(client, "custom", b"{not json", headers={})
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT


async def test_wrong_method_is_501(client: Client) -> None:
    response = await client.get("/v2/account/authenticate/custom", headers=basic())
    assert response.status == 501


# --- identifier rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), [
    (None, "Custom ID is required."),
    ({}, "Custom ID is required."),
    ({"id": ""}, "Custom ID is required."),
    ({"id": "has space-123"}, "Custom ID invalid, no spaces or control characters allowed."),
    ({"id": "tab\there123"}, "Custom ID invalid, no spaces or control characters allowed."),
    ({"id": "ctrl\x7fhere123"}, "Custom ID invalid, no spaces or control characters allowed."),
    ({"id": "five5"}, "Custom ID invalid, must be 6-128 bytes."),
    ({"id": "x" * 129}, "Custom ID invalid, must be 6-128 bytes."),
    ({"id": "é" * 65}, "Custom ID invalid, must be 6-128 bytes."),  # 130 bytes
])
async def test_custom_id_rules(client: Client, body: Any, message: str) -> None:
    assert await authenticate(client, "custom", body) == (400, error(3, message))


async def test_custom_id_lengths_count_bytes(client: Client) -> None:
    for custom_id in ("ééé", "x" * 128, "\u00a0nbsp-ok"):  # 6 bytes; 128 bytes; a non-ASCII space is allowed
        status, body = await authenticate(client, "custom", {"id": custom_id})
        assert status == 200, body


@pytest.mark.parametrize(("body", "message"), [
    (None, "Device ID is required."),
    ({"id": ""}, "Device ID is required."),
    ({"id": "device id with spaces"}, "Device ID invalid, no spaces or control characters allowed."),
    ({"id": "device\nnewline"}, "Device ID invalid, no spaces or control characters allowed."),
    ({"id": "123456789"}, "Device ID invalid, must be 10-128 bytes."),
    ({"id": "d" * 129}, "Device ID invalid, must be 10-128 bytes."),
])
async def test_device_id_rules(client: Client, body: Any, message: str) -> None:
    assert await authenticate(client, "device", body) == (400, error(3, message))


@pytest.mark.parametrize(("username", "message"), [
    ("bad%01name", "Username invalid, no spaces or control characters allowed."),
    ("bad%0Aname", "Username invalid, no spaces or control characters allowed."),
    ("has%5B%5Dbrackets", "Username invalid, no spaces or control characters allowed."),  # "[]": RE2 quirk
    ("u" * 129, "Username invalid, must be 1-128 bytes."),
])
async def test_username_rules(client: Client, username: str, message: str) -> None:
    assert await authenticate(client, "custom", {"id": unique()}, query=f"username={username}") == (
        400, error(3, message))


async def test_usernames_nakama_accepts(client: Client) -> None:
    for username in ("with space " + uuid.uuid4().hex[:6], "[x]" + uuid.uuid4().hex[:6],
                     "u" * 122 + uuid.uuid4().hex[:6]):
        status, body = await authenticate(client, "custom", {"id": unique()},
                                          query="username=" + username.replace(" ", "%20"))
        assert status == 200, body
        assert claims_of(body["token"])["usn"] == username


async def test_username_taken_is_409(client: Client, user_factory: Callable[..., Any]) -> None:
    existing = await user_factory()
    assert await authenticate(client, "custom", {"id": unique()}, query=f"username={existing.username}") == (
        409, error(6, "Username is already in use."))
    assert await authenticate(client, "device", {"id": unique("device")},
                              query=f"username={existing.username}") == (409, error(6, "Username is already in use."))


async def test_a_generated_username_that_is_taken_is_generated_again(
        client: Client, user_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    existing = await user_factory("TakenNameX")
    names = iter([existing.username, "FreshNameY" + uuid.uuid4().hex[:4]])
    monkeypatch.setattr(authentication, "generate_username", lambda: next(names))
    status, body = await authenticate(client, "custom", {"id": unique()})
    assert status == 200, body
    assert claims_of(body["token"])["usn"].startswith("FreshNameY")


async def test_banned_accounts_are_refused(client: Client, state: ServerState) -> None:
    custom_id, device_id = unique(), unique("device")
    _, custom = await authenticate(client, "custom", {"id": custom_id})
    _, device = await authenticate(client, "device", {"id": device_id})
    for body in (custom, device):
        await state.db.execute("UPDATE users SET disable_time = now() WHERE id = %s",
                               (claims_of(body["token"])["uid"],))
    banned = (403, error(7, "User account banned."))
    assert await authenticate(client, "custom", {"id": custom_id}) == banned
    assert await authenticate(client, "custom", {"id": custom_id}, query="create=false") == banned
    assert await authenticate(client, "device", {"id": device_id}) == banned


# --- device -------------------------------------------------------------------------------------


async def test_device_account_has_its_device_row(client: Client, state: ServerState) -> None:
    device_id = unique("device")
    status, body = await authenticate(client, "device", {"id": device_id}, query="username=dev_" + device_id[-8:])
    assert status == 200 and body["created"] is True
    user_id = claims_of(body["token"])["uid"]
    assert await state.db.fetchval("SELECT user_id::text FROM user_device WHERE id = %s", (device_id,)) == user_id
    status, again = await authenticate(client, "device", {"id": device_id})
    assert status == 200 and "created" not in again and claims_of(again["token"])["uid"] == user_id


async def test_a_failed_device_sign_up_leaves_no_user_behind(client: Client, state: ServerState,
                                                             user_factory: Callable[..., Any]) -> None:
    existing = await user_factory()
    device_id = unique("device")
    status, _ = await authenticate(client, "device", {"id": device_id}, query=f"username={existing.username}")
    assert status == 409
    assert await state.db.fetchval("SELECT count(*) FROM user_device WHERE id = %s", (device_id,)) == 0


async def test_concurrent_first_device_logins_share_one_account(client: Client, state: ServerState) -> None:
    device_id = unique("device")
    users_before = await user_count(state)
    results = await asyncio.gather(*[authenticate(client, "device", {"id": device_id}) for _ in range(25)])
    assert all(status == 200 for status, _ in results), results
    user_ids = {claims_of(body["token"])["uid"] for _, body in results}
    assert len(user_ids) == 1
    assert sum(1 for _, body in results if body.get("created")) == 1
    assert await state.db.fetchval("SELECT count(*) FROM user_device WHERE id = %s", (device_id,)) == 1
    assert await user_count(state) == users_before + 1  # no half-created user left by a losing racer


async def test_concurrent_first_device_logins_with_one_username(client: Client) -> None:
    device_id, username = unique("device"), "same_" + uuid.uuid4().hex[:8]
    results = await asyncio.gather(*[authenticate(client, "device", {"id": device_id}, query=f"username={username}")
                                     for _ in range(10)])
    assert all(status == 200 for status, _ in results), results
    assert {claims_of(body["token"])["usn"] for _, body in results} == {username}
    assert len({claims_of(body["token"])["uid"] for _, body in results}) == 1


async def test_concurrent_first_custom_logins_share_one_account(client: Client) -> None:
    custom_id = unique()
    results = await asyncio.gather(*[authenticate(client, "custom", {"id": custom_id}) for _ in range(25)])
    assert all(status == 200 for status, _ in results), results
    assert len({claims_of(body["token"])["uid"] for _, body in results}) == 1
    assert sum(1 for _, body in results if body.get("created")) == 1


# --- email --------------------------------------------------------------------------------------


async def test_email_sign_up_and_sign_in(client: Client, state: ServerState) -> None:
    email = f"Player.{uuid.uuid4().hex[:8]}@Example.COM"
    status, body = await authenticate(client, "email", {"email": email, "password": "correct horse"})
    assert status == 200 and body["created"] is True
    user_id = claims_of(body["token"])["uid"]
    stored_email, stored_hash = await state.db.fetchrow("SELECT email, password FROM users WHERE id = %s",
                                                         (user_id,)) or (None, None)
    assert stored_email == email.lower()
    assert bytes(stored_hash).startswith(b"$2a$13$")

    status, again = await authenticate(client, "email", {"email": email.lower(), "password": "correct horse"})
    assert status == 200 and "created" not in again and claims_of(again["token"])["uid"] == user_id
    assert await authenticate(client, "email", {"email": email, "password": "wrong password"}) == (
        401, error(16, "Invalid credentials."))


async def test_email_create_false(client: Client) -> None:
    assert await authenticate(client, "email", {"email": f"nobody{uuid.uuid4().hex[:6]}@example.com",
                                                "password": "password1"}, query="create=false") == (
        404, error(5, "User account not found."))


@pytest.mark.parametrize(("body", "message"), [
    (None, "Email address and password is required."),
    ({"email": "has space@example.com", "password": "password1"},
     "Invalid email address, no spaces or control characters allowed."),
    ({"email": "no-at-sign.example.com", "password": "password1"}, "Invalid email address format."),
    ({"email": "a@b.co", "password": "password1"}, "Invalid email address, must be 10-255 bytes."),
    ({"email": "a" * 250 + "@example.com", "password": "password1"}, "Invalid email address, must be 10-255 bytes."),
    ({"email": "someone@example.com", "password": "short"}, "Password must be at least 8 characters long."),
    ({"email": "bad-format", "password": "short"}, "Invalid email address format."),
    ({}, "Password must be at least 8 characters long."),
    ({"password": "password1"}, "Username is required when email address is not supplied."),
])
async def test_email_rules(client: Client, body: Any, message: str) -> None:
    assert await authenticate(client, "email", body) == (400, error(3, message))


async def test_username_and_password_sign_in(client: Client) -> None:
    username = "pw_" + uuid.uuid4().hex[:10]
    email = f"{username}@example.com"
    _, created = await authenticate(client, "email", {"email": email, "password": "password1"},
                                    query=f"username={username}")
    status, body = await authenticate(client, "email", {"password": "password1"},
                                      query=f"username={username}&create=false")
    assert status == 200 and "created" not in body
    assert claims_of(body["token"])["uid"] == claims_of(created["token"])["uid"]
    assert claims_of(body["token"])["usn"] == username
    assert await authenticate(client, "email", {"password": "password2"}, query=f"username={username}") == (
        401, error(16, "Invalid credentials."))
    assert await authenticate(client, "email", {"password": "password1"}, query="username=nobody_at_all_x") == (
        404, error(5, "User account not found."))


async def test_username_sign_in_without_a_password_on_the_account(client: Client,
                                                                   user_factory: Callable[..., Any]) -> None:
    user = await user_factory()
    assert await authenticate(client, "email", {"password": "password1"}, query=f"username={user.username}") == (
        401, error(16, "Invalid credentials."))


async def test_password_longer_than_bcrypt_allows(client: Client) -> None:
    # Go's bcrypt refuses to hash more than 72 bytes, and Nakama answers with this.
    assert await authenticate(client, "email", {"email": f"long{uuid.uuid4().hex[:6]}@example.com",
                                                "password": "p" * 73}) == (
        500, error(13, "Error finding or creating user account."))


async def test_banned_email_account(client: Client, state: ServerState) -> None:
    email = f"banned{uuid.uuid4().hex[:6]}@example.com"
    _, body = await authenticate(client, "email", {"email": email, "password": "password1"})
    await state.db.execute("UPDATE users SET disable_time = now() WHERE id = %s", (claims_of(body["token"])["uid"],))
    # the ban is reported before the password is looked at
    assert await authenticate(client, "email", {"email": email, "password": "not the password"}) == (
        403, error(7, "User account banned."))


async def test_concurrent_email_sign_ups_share_one_account(client: Client) -> None:
    email = f"race{uuid.uuid4().hex[:6]}@example.com"
    results = await asyncio.gather(*[authenticate(client, "email", {"email": email, "password": "password1"})
                                     for _ in range(3)])
    assert all(status == 200 for status, _ in results), results
    assert len({claims_of(body["token"])["uid"] for _, body in results}) == 1


async def test_passwords_are_hashed_and_checked_off_the_event_loop(client: Client,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """bcrypt at cost 13 takes long enough to stall every other request if it ran on the loop's thread."""
    threads: list[tuple[str, int]] = []
    real_hash, real_check = passwords._hash, passwords._check

    def recording_hash(password: bytes, cost: int) -> bytes:
        threads.append(("hash", threading.get_ident()))
        return real_hash(password, cost)

    def recording_check(password: bytes, hashed: bytes) -> bool:
        threads.append(("check", threading.get_ident()))
        return real_check(password, hashed)

    monkeypatch.setattr(passwords, "_hash", recording_hash)
    monkeypatch.setattr(passwords, "_check", recording_check)
    email = f"offloop{uuid.uuid4().hex[:6]}@example.com"
    assert (await authenticate(client, "email", {"email": email, "password": "password1"}))[0] == 200
    assert (await authenticate(client, "email", {"email": email, "password": "password1"}))[0] == 200
    assert [kind for kind, _ in threads] == ["hash", "check"]
    assert all(ident != threading.get_ident() for _, ident in threads)


# --- social providers ---------------------------------------------------------------------------


async def test_apple_and_steam_when_not_configured(client: Client) -> None:
    assert await authenticate(client, "apple", {"token": "id-token"}) == (
        400, error(9, "Apple authentication is not configured."))
    assert await authenticate(client, "apple", None) == (400, error(9, "Apple authentication is not configured."))
    assert await authenticate(client, "steam", {"token": "ticket"}, query="sync=true") == (
        400, error(9, "Steam authentication is not configured."))


async def test_providers_that_need_their_service_never_accept_an_identity(
        configured_client: Callable[..., Any]) -> None:
    client, state = await configured_client("--social.apple.bundle_id", "com.example.game",
                                            "--social.steam.publisher_key", "key", "--social.steam.app_id", "480")
    before = await state.db.fetchval("SELECT count(*) FROM users")
    cases = [
        ("apple", {"token": "eyJ.forged.token"}, "Could not authenticate Apple profile."),
        ("facebook", {"token": "forged-access-token"}, "Could not authenticate Facebook profile."),
        ("google", {"token": "eyJ.forged.token"}, "Could not authenticate Google profile."),
        ("steam", {"token": "forged-ticket"}, "Could not authenticate Steam profile."),
        ("gamecenter", {"player_id": "G:1", "bundle_id": "com.example", "timestamp_seconds": "1700000000",
                        "salt": "c2FsdA==", "signature": "c2ln", "public_key_url": "https://static.gc.apple.com/x.cer"},
         "Could not authenticate GameCenter profile."),
    ]
    for kind, body, message in cases:
        assert await authenticate(client, kind, body) == (401, error(16, message)), kind
        assert await authenticate(client, kind, body, query="create=false") == (401, error(16, message)), kind
    assert await state.db.fetchval("SELECT count(*) FROM users") == before


@pytest.mark.parametrize(("kind", "body", "message"), [
    ("facebook", None, "Facebook access token is required."),
    ("facebook", {"token": ""}, "Facebook access token is required."),
    ("google", {}, "Google access token is required."),
    ("facebookinstantgame", {}, "Signed Player Info for a Facebook Instant Game is required."),
    ("gamecenter", None, "GameCenter access credentials are required."),
    ("gamecenter", {}, "GameCenter bundle ID is required."),
    ("gamecenter", {"bundle_id": "b"}, "GameCenter player ID is required."),
    ("gamecenter", {"bundle_id": "b", "player_id": "p"}, "GameCenter public key URL is required."),
    ("gamecenter", {"bundle_id": "b", "player_id": "p", "public_key_url": "u"}, "GameCenter salt is required."),
    ("gamecenter", {"bundle_id": "b", "player_id": "p", "public_key_url": "u", "salt": "s"},
     "GameCenter signature is required."),
    ("gamecenter", {"bundleId": "b", "playerId": "p", "publicKeyUrl": "u", "salt": "s", "signature": "x"},
     "GameCenter timestamp is required."),
])
async def test_social_request_rules(client: Client, kind: str, body: Any, message: str) -> None:
    assert await authenticate(client, kind, body) == (400, error(3, message))


async def test_social_username_is_checked_before_the_provider(client: Client) -> None:
    assert await authenticate(client, "facebook", {"token": "t"}, query="username=a%01b") == (
        400, error(3, "Username invalid, no spaces or control characters allowed."))


def signed_player_info(secret: str, player_id: str, algorithm: str = "HMAC-SHA256") -> str:
    payload = base64.urlsafe_b64encode(json.dumps({
        "algorithm": algorithm, "issued_at": 1700000000, "player_id": player_id, "request_payload": ""}).encode()
    ).decode().rstrip("=")
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=") + "." + payload


async def test_facebook_instant_game_with_a_configured_secret(configured_client: Callable[..., Any]) -> None:
    client, state = await configured_client("--social.facebook_instant_game.app_secret", "fig-secret")
    player_id = uuid.uuid4().hex
    status, body = await authenticate(client, "facebookinstantgame",
                                      {"signedPlayerInfo": signed_player_info("fig-secret", player_id)})
    assert status == 200 and body["created"] is True
    user_id = claims_of(body["token"])["uid"]
    assert await state.db.fetchval("SELECT facebook_instant_game_id FROM users WHERE id = %s",
                                   (user_id,)) == player_id
    status, again = await authenticate(client, "facebookinstantgame",
                                       {"signed_player_info": signed_player_info("fig-secret", player_id)})
    assert status == 200 and "created" not in again and claims_of(again["token"])["uid"] == user_id

    refused = (500, error(15, "Error extracting the Facebook Instant Game player ID or validating the signature"))
    for forged in (signed_player_info("other-secret", player_id), "not-two-parts",
                   signed_player_info("fig-secret", player_id, algorithm="none"),
                   signed_player_info("fig-secret", "")):
        assert await authenticate(client, "facebookinstantgame", {"signed_player_info": forged}) == refused


async def test_facebook_instant_game_without_a_secret_accepts_nothing(client: Client) -> None:
    # Signed with the empty key, which Nakama itself would accept when no secret is configured.
    forged = signed_player_info("", uuid.uuid4().hex)
    assert await authenticate(client, "facebookinstantgame", {"signed_player_info": forged}) == (
        500, error(15, "Error extracting the Facebook Instant Game player ID or validating the signature"))


# --- single_session and hooks -------------------------------------------------------------------


async def test_single_session_revokes_older_sessions(configured_client: Callable[..., Any]) -> None:
    client, _ = await configured_client("--session.single_session", "true")
    custom_id = unique()
    _, first = await authenticate(client, "custom", {"id": custom_id})
    assert (await client.get("/v2/account", headers=bearer(first["token"]))).status == 200
    _, second = await authenticate(client, "custom", {"id": custom_id})
    assert (await client.get("/v2/account", headers=bearer(first["token"]))).status == 401
    assert (await client.get("/v2/account", headers=bearer(second["token"]))).status == 200
    refresh = await client.post("/v2/account/session/refresh", json={"token": first["refresh_token"]},
                                headers=basic())
    assert refresh.status == 401


class RecordingHooks:
    """Before-hooks that may rewrite or refuse, and after-hooks that record what they saw."""

    def __init__(self, rewrite: Callable[[str, Message], Message] | None = None) -> None:
        self.rewrite = rewrite
        self.calls: list[tuple[str, str, Message, Any]] = []

    def has_before(self, name: str) -> bool:
        return True

    def has_after(self, name: str) -> bool:
        return True

    async def run_before(self, name: str, request: RequestView, message: Message) -> Message:
        self.calls.append(("before", name, json.loads(json.dumps(message)), None))
        return self.rewrite(name, message) if self.rewrite else message

    async def run_after(self, name: str, request: RequestView, message: Message, reply: Any) -> None:
        self.calls.append(("after", name, message, reply))


async def test_hooks_see_nakamas_request_message_and_may_rewrite_it(client: Client, state: ServerState) -> None:
    def rewrite(name: str, message: Message) -> Message:
        message["account"]["vars"] = {"from_hook": "yes"}
        message["username"] = "hooked_" + message["account"]["id"][-8:]
        return message

    state.hooks = RecordingHooks(rewrite)
    custom_id = unique()
    status, body = await authenticate(client, "custom", {"id": custom_id, "vars": {"a": "b"}},
                                      query="create=true&username=original")
    assert status == 200
    claims = claims_of(body["token"])
    assert claims["vrs"] == {"from_hook": "yes"} and claims["usn"] == "hooked_" + custom_id[-8:]
    hooks = state.hooks
    assert isinstance(hooks, RecordingHooks)
    assert hooks.calls[0] == ("before", "AuthenticateCustom",
                              {"account": {"id": custom_id, "vars": {"a": "b"}}, "create": True,
                               "username": "original"}, None)
    assert hooks.calls[1][:2] == ("after", "AuthenticateCustom")
    assert hooks.calls[1][3] == body


async def test_a_before_hook_error_is_the_answer(client: Client, state: ServerState) -> None:
    def refuse(name: str, message: Message) -> Message:
        raise NakamaError("Requested resource was not found.", Code.NOT_FOUND)

    state.hooks = RecordingHooks(refuse)
    custom_id = unique()
    assert await authenticate(client, "custom", {"id": custom_id}) == (
        404, error(5, "Requested resource was not found."))
    assert await state.db.fetchval("SELECT count(*) FROM users WHERE custom_id = %s", (custom_id,)) == 0


@pytest.mark.parametrize(("kind", "method"), [
    ("apple", "AuthenticateApple"), ("device", "AuthenticateDevice"), ("email", "AuthenticateEmail"),
    ("facebook", "AuthenticateFacebook"), ("facebookinstantgame", "AuthenticateFacebookInstantGame"),
    ("gamecenter", "AuthenticateGameCenter"), ("google", "AuthenticateGoogle"), ("steam", "AuthenticateSteam"),
])
async def test_every_route_runs_its_before_hook(client: Client, state: ServerState, kind: str, method: str) -> None:
    state.hooks = RecordingHooks()
    await authenticate(client, kind, {})
    hooks = state.hooks
    assert isinstance(hooks, RecordingHooks)
    assert hooks.calls[0][:2] == ("before", method)
