"""``system_metrics``: the design document's operational summary, for backends (http_key only)."""

from __future__ import annotations

import time
from typing import Any

from nakama_py.runtime import Context, NakamaModule, RuntimeLogger

from .access import BOARD, COLLECTION, require_backend
from .cycles import Cycles
from .finalization import LAST_RESET_KEY


class SystemMetrics:
    def __init__(self, cycles: Cycles) -> None:
        self.cycles = cycles
        self.boards = [BOARD]  # with racing_regions, the local regions' boards (region_wiring.py)

    async def system_metrics(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
        require_backend(ctx, "system_metrics")
        current = self.cycles.of(time.time())
        expiry = self.cycles.end(current)
        last = await nk.storage_read([{"collection": COLLECTION, "key": LAST_RESET_KEY, "user_id": None}])
        reply: dict[str, Any] = {
            "current_cycle": current,
            "leaderboard_size": sum([(await nk.leaderboard_top(b, 0, expiry)).total for b in self.boards]),
            "submissions_this_cycle": sum([await nk.leaderboard_record_write_once_count(b, expiry=expiry)
                                           for b in self.boards]),
            "last_reset": nk.json_decode(last[0].value) if last else None,
            "storage_objects_count": await nk.storage_count(COLLECTION),
            "idempotency_keys_count": sum([await nk.leaderboard_record_write_once_count(b) for b in self.boards]),
        }
        return nk.json_encode(reply)
