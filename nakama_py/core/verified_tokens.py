"""The session tokens a process verified lately, so the next request with one costs a dict lookup.

Two generations: a hit in the older one moves the token to the newer, and every ``GENERATION_SEC``
(or when the newer holds half the limit) the older generation is dropped and the newer becomes the
older. So a token used at least once a minute stays, and the tokens of players who left are gone within
two minutes instead of filling the cache up to its limit (in a benchmark of one client run after
another, each with new players, that was ~9 MB a worker of tokens never used again).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from nakama_py.core.tokens import SessionClaims

# At about 0.45 KB a token, 20,000 keep a server process small; a miss costs one verification (~30 us).
VERIFIED_CACHE_LIMIT = 20_000
GENERATION_SEC = 60.0


class VerifiedTokens:
    def __init__(self, limit: int = VERIFIED_CACHE_LIMIT, generation_sec: float = GENERATION_SEC,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.generation_sec = generation_sec
        self._clock = clock
        self._newer: dict[bytes, SessionClaims] = {}
        self._older: dict[bytes, SessionClaims] = {}
        self._next_turn = clock() + generation_sec

    def __len__(self) -> int:
        return len(self._newer) + len(self._older)

    def __contains__(self, key: bytes) -> bool:
        return key in self._newer or key in self._older

    def get(self, key: bytes) -> SessionClaims | None:
        if self._clock() >= self._next_turn:
            self._turn()
        claims = self._newer.get(key)
        if claims is not None:
            return claims
        claims = self._older.pop(key, None)
        if claims is not None:
            self.put(key, claims)
        return claims

    def put(self, key: bytes, claims: SessionClaims) -> None:
        if len(self._newer) >= self.limit // 2:  # each generation holds at most half the limit
            self._turn()
        self._newer[key] = claims

    def forget(self, key: bytes) -> None:
        self._newer.pop(key, None)
        self._older.pop(key, None)

    def _turn(self) -> None:
        self._older = self._newer
        self._newer = {}
        self._next_turn = self._clock() + self.generation_sec
