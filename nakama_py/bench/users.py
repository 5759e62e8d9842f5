"""Users for a run, made before the timed window: custom-id accounts signed in
(created on first use), and sessions refreshed so they outlive the run.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import orjson

from nakama_py.bench.http1 import basic_auth, build_request
from nakama_py.bench.pool import HttpPool, Response

T = TypeVar("T")
R = TypeVar("R")

SETUP_CONCURRENCY = 48
# A sign-in or refresh answered 5xx is tried again this many times: on a loaded machine Nakama
# answers a refresh whose database read timed out with 500 "Error finding user account.", and
# one such answer among thousands must not end the run.
SETUP_RETRIES = 3
SETUP_RETRY_PAUSE_S = 0.5


class SetupError(Exception):
    """Setup could not make what the run needs; the message says what the server answered."""


@dataclass(frozen=True)
class UserSession:
    custom_id: str
    token: str
    refresh_token: str

    @property
    def expires_at(self) -> int:
        return token_expiry(self.token)


def _claim(token: str, name: str) -> int:
    # Read without verifying: only the server can, and the bench needs nothing more than the times.
    try:
        payload = token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return int(claims[name])
    except (IndexError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return 0


def token_expiry(token: str) -> int:
    """The ``exp`` claim of a session JWT (unix seconds), 0 when unreadable."""
    return _claim(token, "exp")


def token_lifetime(token: str) -> int:
    """How long the server lets a session live (``session.token_expiry_sec``), read from a token
    just minted by a sign-in (a refresh keeps the old ``iat``, so only a sign-in's token tells)."""
    return _claim(token, "exp") - _claim(token, "iat")


async def run_all(items: Sequence[T], call: Callable[[T], Awaitable[R]], concurrency: int) -> list[R]:
    """``call`` on every item with at most ``concurrency`` at once; results in item order."""
    results: list[R | None] = [None] * len(items)
    next_index = 0

    async def drain() -> None:
        nonlocal next_index
        while next_index < len(items):
            index = next_index
            next_index += 1
            results[index] = await call(items[index])

    await asyncio.gather(*(drain() for _ in range(max(1, min(concurrency, len(items))))))
    return results  # type: ignore[return-value]


def custom_ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i}" for i in range(count)]


async def sign_in(pool: HttpPool, ids: Sequence[str], concurrency: int = SETUP_CONCURRENCY) -> list[UserSession]:
    """Authenticates each custom id (``create=true``, so new ids become accounts)."""
    target = pool.target
    auth = {"Authorization": basic_auth(target.server_key)}

    async def one(custom_id: str) -> UserSession:
        request = build_request("POST", "/v2/account/authenticate/custom?create=true", target.host_header, auth,
                                orjson.dumps({"id": custom_id}))
        return _session(custom_id, await _setup_call(pool, request), "authenticate/custom")

    return await run_all(ids, one, concurrency)


async def refresh_expiring(pool: HttpPool, sessions: Sequence[UserSession], valid_until: float,
                           concurrency: int = SETUP_CONCURRENCY) -> list[UserSession]:
    """Sessions whose token expires before ``valid_until`` (unix time) come back refreshed."""
    target = pool.target
    auth = {"Authorization": basic_auth(target.server_key)}

    async def one(session: UserSession) -> UserSession:
        if session.expires_at >= valid_until:
            return session
        request = build_request("POST", "/v2/account/session/refresh", target.host_header, auth,
                                orjson.dumps({"token": session.refresh_token}))
        return _session(session.custom_id, await _setup_call(pool, request), "session/refresh")

    return await run_all(sessions, one, concurrency)


def shortest_life(sessions: Sequence[UserSession]) -> float:
    """Seconds until the first of these tokens expires."""
    return min((s.expires_at for s in sessions), default=0) - time.time()


async def _setup_call(pool: HttpPool, request: bytes) -> Response:
    """The server's answer, asked again after a pause while it is a 5xx (see SETUP_RETRIES)."""
    for attempt in range(SETUP_RETRIES):
        response = await pool.request(request)
        if response.status < 500:
            return response
        await asyncio.sleep(SETUP_RETRY_PAUSE_S * (attempt + 1))
    return await pool.request(request)


def _session(custom_id: str, response: Response, call: str) -> UserSession:
    if response.status != 200:
        raise SetupError(f"{call} for {custom_id!r} answered {response.describe()}")
    data = response.json()
    try:
        return UserSession(custom_id, str(data["token"]), str(data["refresh_token"]))
    except (KeyError, TypeError):
        raise SetupError(f"{call} for {custom_id!r} answered without tokens: {response.describe()}") from None
