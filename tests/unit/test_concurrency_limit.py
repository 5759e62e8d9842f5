"""The adaptive in-flight bound: lowered while requests are slow, raised back while they are fast
and the bound is reached, within its floor and ceiling."""

from __future__ import annotations

from nakama_py.metrics import Metrics
from nakama_py.wire.concurrency_limit import WINDOW_S, AdaptiveLimit


def run_window(limit: AdaptiveLimit, start: float, elapsed: float, *, reached: bool = False) -> float:
    """A window of 20 finished requests that each took ``elapsed``; the next window's start."""
    if reached:
        limit.reached()
    for index in range(20):
        limit.finished(start + index * WINDOW_S / 40, elapsed)
    end = start + WINDOW_S * 1.01
    limit.finished(end, 0.001)  # closes the window
    return end + WINDOW_S * 1.01


def test_slow_requests_lower_the_bound_to_its_floor_and_fast_ones_raise_it_back() -> None:
    limit = AdaptiveLimit(128, 50, Metrics())
    now = 0.0
    for _ in range(5):
        now = run_window(limit, now, 0.2)
    assert limit.current < 128 * 0.9**4 + 1
    for _ in range(100):
        now = run_window(limit, now, 0.2)
    assert limit.current == 128 // 4  # the floor
    low = limit.current
    now = run_window(limit, now, 0.005)  # fast, but the bound was not reached: no need for more
    assert limit.current == low
    for _ in range(200):
        now = run_window(limit, now, 0.005, reached=True)
    assert limit.current == 128  # the ceiling, never above


def test_without_a_target_the_bound_is_fixed() -> None:
    limit = AdaptiveLimit(64, 0, Metrics())
    now = 0.0
    for _ in range(10):
        now = run_window(limit, now, 5.0)
    assert limit.current == 64
