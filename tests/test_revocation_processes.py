"""Logouts hold across server processes sharing one database, and across restarts (Nakama forgets them)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.auth import basic, bearer
from tests.support.server import ServerProcess, start_server


def call(server: ServerProcess, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def sign_in(server: ServerProcess, custom_id: str) -> dict[str, Any]:
    status, body = call(server, "POST", "/v2/account/authenticate/custom", basic(), {"id": custom_id})
    assert status == 200, body
    session: dict[str, Any] = body
    return session


def account_status(server: ServerProcess, token: str) -> int:
    return call(server, "GET", "/v2/account", bearer(token))[0]


def refresh_status(server: ServerProcess, refresh_token: str) -> int:
    return call(server, "POST", "/v2/account/session/refresh", basic(), {"token": refresh_token})[0]


# Another process learns of a logout through LISTEN/NOTIFY: within milliseconds normally, and
# the bound leaves room for a machine busy with other work.
PROPAGATION_BOUND_SEC = 5.0


def refused_soon(check: Callable[[], int]) -> bool:
    """Whether ``check`` answers 401 within the propagation bound, and keeps answering 401."""
    deadline = time.monotonic() + PROPAGATION_BOUND_SEC
    while check() != 401:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return all(check() == 401 for _ in range(3))


def test_logout_on_one_process_is_refused_by_another_and_after_restarts(tmp_path: Path, database_url: str) -> None:
    first = start_server(tmp_path / "a", database_url)
    second = start_server(tmp_path / "b", database_url)
    try:
        custom_id = f"procs-{uuid.uuid4().hex[:12]}"
        session = sign_in(first, custom_id)
        kept = sign_in(second, custom_id)  # another session of the same user, never logged out
        assert account_status(second, session["token"]) == 200

        status, body = call(first, "POST", "/v2/session/logout", bearer(session["token"]),
                            {"token": session["token"], "refresh_token": session["refresh_token"]})
        assert (status, body) == (200, {})
        assert refused_soon(lambda: account_status(second, session["token"]))
        assert call(second, "GET", "/v2/account", bearer(session["token"])) == (
            401, {"code": 16, "message": "Auth token invalid"})
        assert refresh_status(second, session["refresh_token"]) == 401
        assert account_status(first, kept["token"]) == 200

        # a restarted process still refuses the tokens: the revocation is in the database
        second.stop()
        second = start_server(tmp_path / "b2", database_url)
        assert account_status(second, session["token"]) == 401
        assert refresh_status(second, session["refresh_token"]) == 401
        assert account_status(second, kept["token"]) == 200

        # and so does a fresh pair of processes
        first.stop()
        second.stop()
        first = start_server(tmp_path / "a2", database_url)
        assert account_status(first, session["token"]) == 401
        assert account_status(first, kept["token"]) == 200
    finally:
        first.stop()
        second.stop()


def test_logout_of_every_session_reaches_the_other_process(tmp_path: Path, database_url: str) -> None:
    first = start_server(tmp_path / "a", database_url)
    second = start_server(tmp_path / "b", database_url)
    try:
        custom_id = f"procs-all-{uuid.uuid4().hex[:12]}"
        sessions = [sign_in(first, custom_id), sign_in(second, custom_id)]
        assert call(second, "POST", "/v2/session/logout", bearer(sessions[0]["token"]), {}) == (200, {})
        for server in (first, second):
            for session in sessions:
                assert refused_soon(lambda: account_status(server, session["token"]))  # noqa: B023
                assert refresh_status(server, session["refresh_token"]) == 401
    finally:
        first.stop()
        second.stop()
