"""The cache of verified session tokens: keyed by a digest of the token, never the token itself, and
holding the tokens in use, not every token ever seen."""

from __future__ import annotations

import time
import uuid

import pytest

from nakama_py.config import Config
from nakama_py.core.session_revocations import SessionRevocations
from nakama_py.core.sessions import SessionService, cache_key
from nakama_py.core.tokens import SessionClaims
from nakama_py.core.verified_tokens import VerifiedTokens
from nakama_py.errors import NakamaError


class NoRevocations:
    def session_revoked(self, _claims: SessionClaims) -> bool:
        return False


def service() -> SessionService:
    revocations: SessionRevocations = NoRevocations()  # type: ignore[assignment]
    return SessionService(Config().session, revocations)


@pytest.mark.unit
def test_a_verified_token_is_remembered_under_a_16_byte_digest() -> None:
    sessions = service()
    token = sessions.issue(str(uuid.uuid4()), "racer").token
    first = sessions.verify_session(token)
    assert sessions.verify_session(token) is first  # the second check is the cache's
    assert len(sessions._verified) == 1 and cache_key(token) in sessions._verified
    assert len(cache_key(token)) == 16


@pytest.mark.unit
def test_a_token_altered_after_its_original_was_cached_is_refused() -> None:
    sessions = service()
    token = sessions.issue(str(uuid.uuid4()), "racer").token
    sessions.verify_session(token)
    head, payload, signature = token.split(".")
    middle = len(payload) // 2
    forged_payload = payload[:middle] + ("A" if payload[middle] != "A" else "B") + payload[middle + 1:]
    forged_signature = ("A" if signature[0] != "A" else "B") + signature[1:]  # the first character: every bit counts
    for forged in (f"{head}.{forged_payload}.{signature}", f"{head}.{payload}.{forged_signature}"):
        with pytest.raises(NakamaError):
            sessions.verify_session(forged)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def claims(n: int) -> SessionClaims:
    return SessionClaims(f"token-{n}", f"user-{n}", f"racer{n}")


@pytest.mark.unit
def test_tokens_in_use_stay_and_tokens_of_players_who_left_go_within_two_generations() -> None:
    clock = Clock()
    cache = VerifiedTokens(limit=1000, generation_sec=60, clock=clock)
    cache.put(b"playing", claims(1))
    cache.put(b"left", claims(2))
    for _ in range(5):  # the player keeps playing, a request every 50 s
        clock.now += 50
        assert cache.get(b"playing") == claims(1)
    assert cache.get(b"left") is None  # gone: 250 s without a request
    assert len(cache) == 1


@pytest.mark.unit
def test_a_token_is_kept_at_least_one_generation_after_its_last_use() -> None:
    clock = Clock()
    cache = VerifiedTokens(limit=1000, generation_sec=60, clock=clock)
    cache.put(b"a", claims(1))
    clock.now += 59
    cache.get(b"other")
    clock.now += 59  # 118 s after it was put, 1 turn since
    assert cache.get(b"a") == claims(1)


@pytest.mark.unit
def test_the_cache_never_holds_more_than_its_limit_and_keeps_the_newest() -> None:
    cache = VerifiedTokens(limit=100, generation_sec=60, clock=Clock())
    for n in range(1000):
        cache.put(n.to_bytes(2, "big"), claims(n))
        assert len(cache) <= 100
    assert cache.get((999).to_bytes(2, "big")) == claims(999)
    assert cache.get((0).to_bytes(2, "big")) is None


@pytest.mark.unit
def test_an_expired_token_is_forgotten_and_refused() -> None:
    sessions = service()
    issued = sessions.issue(str(uuid.uuid4()), "racer", expires_at=int(time.time()) - 1)
    with pytest.raises(NakamaError):
        sessions.verify_session(issued.token)
    assert cache_key(issued.token) not in sessions._verified
