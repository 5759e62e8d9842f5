"""Cycle arithmetic. Cycle n covers [n * length, (n + 1) * length) seconds of unix time; its
leaderboard period is keyed by its end, the records' ``expiry_time``."""

from __future__ import annotations

import math
from datetime import UTC, datetime


class Cycles:
    def __init__(self, length: int) -> None:
        self.length = length
        self._ends_at: tuple[int, str] = (-1, "")  # every read formats the same cycle's end

    def of(self, timestamp: float) -> int:
        return math.floor(timestamp / self.length)

    def end(self, cycle: int) -> int:
        """The moment the cycle ends, which is also its leaderboard period's expiry (unix seconds)."""
        return (cycle + 1) * self.length

    def of_expiry(self, expiry: int) -> int:
        return expiry // self.length - 1

    def ends_at(self, cycle: int) -> str:
        memo_cycle, text = self._ends_at
        if memo_cycle != cycle:
            text = datetime.fromtimestamp(self.end(cycle), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._ends_at = (cycle, text)
        return text
