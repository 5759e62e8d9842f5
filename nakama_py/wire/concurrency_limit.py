"""The bound on a process's in-flight HTTP requests, adapted to how fast they are served.

A fixed bound is right only for the machine it was sized on: where requests are served more slowly
(a busier or smaller machine, a slower database) the same number in flight queues for longer than
any latency target. So the bound starts at ``socket.max_inflight_requests`` and, every 100 ms: when
more than 5% of the requests that finished took longer than ``socket.inflight_latency_target_ms``,
it is lowered by 10%; when it was reached and requests were fast, it is raised by 5% (at least one),
never above the configured bound nor below a quarter of it (a busy machine still serves a
fair number at once). This is additive-increase/multiplicative-
decrease on latency, the way TCP's congestion control and concurrency limiters (Netflix's
concurrency-limits) find a throughput they can sustain without a queue.
"""

from __future__ import annotations

from nakama_py.metrics import Metrics

WINDOW_S = 0.1
DECREASE = 0.9
INCREASE = 0.05
SLOW_SHARE = 0.05


class AdaptiveLimit:
    __slots__ = (
        "_done",
        "_full",
        "_slow",
        "_window_end",
        "ceiling",
        "current",
        "floor",
        "limit",
        "metrics",
        "target_s",
    )

    def __init__(self, ceiling: int, target_ms: int, metrics: Metrics) -> None:
        self.ceiling = ceiling
        self.floor = max(2, ceiling // 4)
        self.limit = float(ceiling)
        self.current = ceiling  # the bound now: requests in flight past it are refused
        self.target_s = target_ms / 1000 if target_ms > 0 else None
        self.metrics = metrics
        self._window_end = 0.0
        self._done = self._slow = 0
        self._full = False
        metrics.api_inflight_limit.set(ceiling)

    def reached(self) -> None:
        self._full = True

    def finished(self, now: float, elapsed: float) -> None:
        if self.target_s is None:
            return
        self._done += 1
        if elapsed > self.target_s:
            self._slow += 1
        if now >= self._window_end:
            self._adjust(now)

    def _adjust(self, now: float) -> None:
        if self._slow > SLOW_SHARE * self._done:
            self.limit = max(float(self.floor), self.limit * DECREASE)
        elif self._full:
            self.limit = min(float(self.ceiling), self.limit + max(1.0, self.limit * INCREASE))
        current = int(self.limit)
        if current != self.current:
            self.current = current
            self.metrics.api_inflight_limit.set(current)
        self._done = self._slow = 0
        self._full = False
        self._window_end = now + WINDOW_S
