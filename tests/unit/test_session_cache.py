"""The cache of verified session tokens: keyed by a digest of the token, never the token itself."""

from __future__ import annotations

import uuid

import pytest

from nakama_py.config import Config
from nakama_py.core.session_revocations import SessionRevocations
from nakama_py.core.sessions import SessionService, cache_key
from nakama_py.core.tokens import SessionClaims
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
    assert list(sessions._verified) == [cache_key(token)]
    assert all(isinstance(key, bytes) and len(key) == 16 for key in sessions._verified)


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
