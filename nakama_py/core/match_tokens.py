"""Matchmaker tokens: what a ``matchmaker_matched`` message gives each player to join the
relayed match the matchmaker formed (``match_join`` with ``token``).

As in Nakama, an HS256 JWT signed with ``session.encryption_key`` whose claims are the match id
(``mid``, ``"<uuid>."``: a relayed match has no node) and an expiry (``exp``, seconds). The matchmaker
issues them (core/matchmaker) and the match join verifies them (core/matches); this module is the one
place that knows the format.
"""

from __future__ import annotations

import time

import jwt

ALGORITHM = "HS256"


class InvalidMatchToken(ValueError):
    """The token is malformed, not signed with our key, expired, or names no match."""


def issue(match_id: str, signing_key: str, expiry_sec: int, *, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return jwt.encode({"mid": match_id, "exp": issued + expiry_sec}, signing_key, algorithm=ALGORITHM)


def verify(token: str, signing_key: str) -> str:
    """The match id the token names; raises ``InvalidMatchToken``."""
    try:
        claims = jwt.decode(token, signing_key, algorithms=[ALGORITHM], options={"require": ["exp", "mid"]})
    except jwt.PyJWTError as exc:
        raise InvalidMatchToken(str(exc)) from None
    match_id = claims.get("mid")
    if not isinstance(match_id, str) or not match_id:
        raise InvalidMatchToken("token names no match")
    return match_id
