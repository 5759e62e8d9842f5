"""``nk.localcache_*``: a per-process key/value cache with optional expiry.

Values are kept as given (not copied) and never shared between server processes.
Expired entries vanish on read and in a sweep every ``SWEEP_EVERY`` writes.
"""

from __future__ import annotations

import time
from typing import Any

SWEEP_EVERY = 1024
_MISSING = object()


class LocalCache:
    def __init__(self) -> None:
        self._items: dict[str, tuple[Any, float]] = {}   # key -> (value, deadline; 0 = never)
        self._writes = 0

    def get(self, key: str, default: Any = None) -> Any:
        item = self._items.get(key)
        if item is None:
            return default
        value, deadline = item
        if deadline and deadline <= time.monotonic():
            del self._items[key]
            return default
        return value

    def put(self, key: str, value: Any, ttl_seconds: float = 0) -> None:
        """``ttl_seconds`` 0 keeps the value until deleted."""
        if not isinstance(key, str):
            raise TypeError("localcache keys are strings")
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must be 0 (no expiry) or positive")
        self._items[key] = (value, time.monotonic() + ttl_seconds if ttl_seconds else 0.0)
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            self._sweep()

    def delete(self, key: str) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def _sweep(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, deadline) in self._items.items() if deadline and deadline <= now]:
            del self._items[key]
