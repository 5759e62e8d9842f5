"""The real nakama-js 2.8.0 signs in, stays signed in and signs out against a live nakama-py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from nakama_py.errors import Code
from tests.support.node import run_client
from tests.support.server import start_server


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> dict[str, Any]:
    # Tokens that outlive nakama-js's 5-minute auto-refresh window, so each call goes out as written.
    server = start_server(tmp_path_factory.mktemp("accounts-js"), database_url,
                          "--session.token_expiry_sec", "7200", "--session.refresh_token_expiry_sec", "14400")
    try:
        result: dict[str, Any] = run_client("accounts.mjs", server.port,
                                            env={"RUN_SUFFIX": uuid.uuid4().hex[:10]})
    finally:
        server.stop()
    return result


def test_sign_in_new_and_existing(observed: dict[str, Any]) -> None:
    for kind in ("custom", "device", "email"):
        first, again = observed[kind]["first"], observed[kind]["again"]
        assert first["created"] is True and again["created"] is False, kind
        assert first["user_id"] == again["user_id"] and first["username"] == again["username"], kind
        assert first["has_token"] and first["has_refresh"], kind
        assert 7100 < first["expires_in"] <= 7200, kind
    assert observed["custom"]["first"]["username"].startswith("jsuser_")
    assert observed["email"]["wrong"] == {"ok": False, "status": 401,
                                          "body": {"code": 16, "message": "Invalid credentials."}}
    assert observed["missing"] == {"ok": False, "status": 404,
                                   "body": {"code": 5, "message": "User account not found."}}


def test_vars_are_in_the_token(observed: dict[str, Any]) -> None:
    assert observed["custom"]["first"]["vars"] == {"platform": "node", "tier": "gold"}


def test_awkward_usernames_and_vars_decode_in_the_2_8_0_session(observed: dict[str, Any]) -> None:
    odd = observed["odd"]
    for session in (odd["session"], odd["restored"]):
        assert session["username"] == odd["expected"]
        assert session["vars"] == {"greeting?": "¿qué tal? ~ 🎮"}


def test_account_get_update_round_trip(observed: dict[str, Any]) -> None:
    assert observed["updated"] is True
    user = observed["account"]["user"]
    assert user["display_name"] == "Zoë 🎮 Ünïcødé"
    assert user["avatar_url"] == "https://example.com/a.png"
    assert (user["lang_tag"], user["location"], user["timezone"]) == ("fr", "Zürich", "Europe/Zurich")
    assert user["id"] == observed["custom"]["first"]["user_id"]
    assert observed["account"]["custom_id"].startswith("js-custom-")
    assert observed["account"]["wallet"] == "{}"
    assert observed["account"]["has_devices"] is False


def test_refresh_gives_a_new_token_for_the_same_user(observed: dict[str, Any]) -> None:
    refresh = observed["refresh"]
    assert refresh["token_changed"] is True and refresh["expires_later"] is True
    assert refresh["after"]["user_id"] == refresh["before"]["user_id"]
    assert refresh["after"]["vars"] == {"platform": "node", "tier": "gold"}  # kept: nakama-js sends vars {}
    assert observed["refresh_vars"] == {"mood": "happy"}


def test_link_and_unlink_a_device(observed: dict[str, Any]) -> None:
    assert observed["link"] is True and observed["unlink"] is True
    assert [device["id"] for device in observed["devices_after_link"]] == [
        "js-linked-" + observed["account"]["custom_id"].removeprefix("js-custom-")]
    assert observed["signed_in_with_linked"]["user_id"] == observed["custom"]["first"]["user_id"]
    assert observed["devices_present_after_unlink"] is False
    assert observed["unlink_last"]["status"] == 403
    assert observed["unlink_last"]["body"]["code"] == Code.PERMISSION_DENIED


def test_logout_then_401(observed: dict[str, Any]) -> None:
    assert observed["logout"] is True
    assert observed["after_logout"] == {"ok": False, "status": 401,
                                        "body": {"code": 16, "message": "Auth token invalid"}}
    assert observed["refresh_after_logout"]["status"] == 401
    assert observed["refresh_after_logout"]["body"] == {"code": 16, "message": "Refresh token invalid or expired."}
    assert observed["other_session_still_works"] is True
