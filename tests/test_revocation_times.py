"""A logout of every session revokes the tokens issued before it, to the microsecond: one
issued in the same millisecond just before is refused, one issued just after is not (token
ids are UUIDv7 carrying their sub-millisecond issue time)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from nakama_py.core.session_revocations import ALL, SessionRevocations
from nakama_py.core.tokens import SessionClaims, issued_us_of, uuid7
from nakama_py.db.session_revocations import RevocationRow

USER = str(uuid.uuid4())
REVOKED_AT = datetime(2026, 11, 27, 12, 0, 0, 400_500, tzinfo=UTC)  # 12:00:00.4005
REVOKED_NS = int(REVOKED_AT.timestamp()) * 1_000_000_000 + 400_500_000


def claims_issued_at(ns: int) -> SessionClaims:
    return SessionClaims(uuid7(ns), USER, "someone", {}, expires_at=2_000_000_000, issued_at=ns // 1_000_000_000)


def test_the_token_id_carries_the_issue_time_to_the_microsecond() -> None:
    for offset_ns in (0, 1_000, 250_000, 999_000):
        ns = REVOKED_NS + offset_ns
        assert abs(issued_us_of(uuid7(ns), 0) - ns // 1000) <= 1
    assert uuid.UUID(uuid7()).version == 7


def test_logout_of_every_session_splits_one_millisecond() -> None:
    revocations = SessionRevocations(None, 3600)  # type: ignore[arg-type]  # _apply needs no database
    revocations._apply(RevocationRow(1, USER, ALL, None, REVOKED_AT, REVOKED_AT + timedelta(hours=2)))
    assert revocations.session_revoked(claims_issued_at(REVOKED_NS - 300_000))  # 0.3 ms before, same ms
    assert revocations.session_revoked(claims_issued_at(REVOKED_NS - 5_000_000))
    assert not revocations.session_revoked(claims_issued_at(REVOKED_NS + 300_000))  # 0.3 ms after, same ms
    assert not revocations.session_revoked(claims_issued_at(REVOKED_NS + 5_000_000))
