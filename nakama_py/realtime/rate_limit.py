"""Per-socket message rate limit: a token bucket of ``socket.message_burst`` messages refilled at
``socket.message_rate_per_sec``. Nakama has no such limit; nakama-py adds it so one flooding client
cannot take a process's event loop from the others."""

from __future__ import annotations

import time


class MessageBucket:
    __slots__ = ("_burst", "_last", "_rate", "_tokens")

    def __init__(self, rate_per_sec: float, burst: int) -> None:
        self._rate = rate_per_sec
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last = time.monotonic()

    def take(self) -> bool:
        """True when this message may be processed now."""
        if self._rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False
