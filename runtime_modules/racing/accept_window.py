"""The streamed mode's rate limit at accept time: at most ``limit`` accepted submissions per player per
rolling window, counted in this process's memory (no database round trip on the accept path).

With several processes a player could be accepted up to ``limit`` times on each; the consumer applies
the authoritative limit (the same rule as the direct mode, from the receipts), so the leaderboard never
takes more than ``limit`` per window: the excess is recorded as rejected (``rate_limit``).
"""

from __future__ import annotations

import time
from collections import deque

MAX_PLAYERS = 100_000  # past it, players idle for a whole window are forgotten


class AcceptWindow:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._accepted: dict[str, deque[float]] = {}

    def retry_after(self, user_id: str, now: float | None = None) -> float:
        """0 when the player may submit now, else the seconds until they may."""
        now = time.monotonic() if now is None else now
        times = self._accepted.get(user_id)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        return 0.0 if len(times) < self.limit else times[0] + self.window - now

    def take(self, user_id: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._accepted) >= MAX_PLAYERS:
            self._accepted = {u: t for u, t in self._accepted.items() if t and t[-1] > now - self.window}
        self._accepted.setdefault(user_id, deque()).append(now)

    def give_back(self, user_id: str) -> None:
        """Undo the last ``take`` (the append turned out to be a duplicate, or failed)."""
        times = self._accepted.get(user_id)
        if times:
            times.pop()
