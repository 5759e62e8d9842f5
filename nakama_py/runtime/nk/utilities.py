"""``nk``'s plain helpers: ids, time, cron, JSON, the per-process cache and custom metrics."""

from __future__ import annotations

import math
import time as _time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from nakama_py.core.leaderboard_schedule import InvalidSchedule, parse_schedule
from nakama_py.errors import invalid_argument
from nakama_py.metrics import Metrics
from nakama_py.runtime.localcache import LocalCache


class UtilityCalls:
    _cache: LocalCache
    _metrics: Metrics

    @staticmethod
    def uuid_v4() -> str:
        return str(uuid.uuid4())

    @staticmethod
    def time() -> int:
        """Now, in milliseconds since the Unix epoch (as Nakama's ``nk.time``)."""
        return _time.time_ns() // 1_000_000

    @staticmethod
    def cron_next(expression: str, timestamp: float | None = None) -> int:
        """The first time matching the cron expression strictly after ``timestamp`` (unix seconds, UTC;
        default now). Expressions are read as leaderboard reset schedules are (Nakama's forms)."""
        try:
            return parse_schedule(expression).next_after(_time.time() if timestamp is None else timestamp)
        except InvalidSchedule:
            raise invalid_argument("expects a valid cron string") from None

    @staticmethod
    def cron_prev(expression: str, timestamp: float | None = None) -> int:
        """The last time matching the cron expression strictly before ``timestamp``."""
        moment = _time.time() if timestamp is None else timestamp
        try:
            return parse_schedule(expression).last_at_or_before(math.ceil(moment) - 1)
        except InvalidSchedule:
            raise invalid_argument("expects a valid cron string") from None

    @staticmethod
    def json_encode(value: Any) -> str:
        return orjson.dumps(value).decode()

    @staticmethod
    def json_decode(text: str | bytes) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise invalid_argument(f"invalid JSON: {exc.msg}") from None

    # --- per-process cache -----------------------------------------------------------

    def localcache_get(self, key: str, default: Any = None) -> Any:
        return self._cache.get(key, default)

    def localcache_put(self, key: str, value: Any, ttl_seconds: float = 0) -> None:
        """Keep ``value`` in this process for ``ttl_seconds`` (0: until deleted)."""
        self._cache.put(key, value, ttl_seconds)

    def localcache_delete(self, key: str) -> None:
        self._cache.delete(key)

    def localcache_clear(self) -> None:
        self._cache.clear()

    # --- metrics -------------------------------------------------------------------------

    def metrics_counter_add(self, name: str, tags: Mapping[str, str] | None = None, delta: float = 1) -> None:
        """Add to the Prometheus counter ``<prefix>_<custom_prefix>_<name>``."""
        self._metrics.counter_add(name, tags, delta)

    def metrics_gauge_set(self, name: str, tags: Mapping[str, str] | None = None, value: float = 0) -> None:
        self._metrics.gauge_set(name, tags, value)

    def metrics_timer_record(self, name: str, tags: Mapping[str, str] | None = None, seconds: float = 0) -> None:
        """Observe a duration in seconds in the histogram ``<prefix>_<custom_prefix>_<name>``."""
        self._metrics.timer_record(name, tags, seconds)
