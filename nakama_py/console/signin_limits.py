"""Rate-limited sign-in: failures per client address and per username in a rolling window.

Kept in the memory of the one process that serves the console; a window is bounded in size.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque

WINDOW_SEC = 60.0
MAX_FAILURES = 5
MAX_TRACKED = 10_000  # keys remembered at most; the oldest are forgotten first


class SigninLimiter:
    def __init__(self, max_failures: int = MAX_FAILURES, window_sec: float = WINDOW_SEC) -> None:
        self.max_failures = max_failures
        self.window_sec = window_sec
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_sec:
            times.popleft()
        return times

    def retry_after(self, *keys: str) -> int:
        """Seconds until a sign-in may be tried again; 0 when it may now."""
        now = time.monotonic()
        wait = 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                wait = max(wait, times[0] + self.window_sec - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)
