"""A submission's outcome: applied (its receipt), rejected (recorded by the streamed mode's consumer), or
pending. ``get_submission`` answers it to the player; a rejection is stored as the player's
``race_data/submission_<key>`` object (readable by them only)."""

from __future__ import annotations

from typing import Any

from nakama_py.runtime import Context, NakamaModule, RuntimeLogger

from . import payloads, replies
from .access import BOARD, COLLECTION, require_player
from .cycles import Cycles
from .player_regions import PlayerRegions
from .region_settings import region_board


def rejection_key(idempotency_key: str) -> str:
    return f"submission_{idempotency_key}"


def rejection_write(user_id: str, idempotency_key: str, reason: str, detail: str) -> dict[str, Any]:
    return {"collection": COLLECTION, "key": rejection_key(idempotency_key), "user_id": user_id,
            "value": {"status": "rejected", "reason": reason, "message": detail},
            "permission_read": 1, "permission_write": 0}


class Outcomes:
    def __init__(self, cycles: Cycles) -> None:
        self.cycles = cycles
        self.regions: PlayerRegions | None = None  # racing_regions: receipts are on the player's region's board

    async def outcome(self, nk: NakamaModule, user_id: str, key: str) -> dict[str, Any]:
        board = BOARD
        if self.regions is not None:
            region = await self.regions.region_of(nk, user_id)
            board = region_board(region) if region is not None else BOARD
        receipt = await nk.leaderboard_record_write_once_get(board, user_id, key)
        if receipt is not None:
            return {**replies.applied(self.cycles, receipt), "status": "applied", "idempotency_key": key}
        stored = await nk.storage_read([{"collection": COLLECTION, "key": rejection_key(key), "user_id": user_id}])
        if stored:
            return {"success": False, **nk.json_decode(stored[0].value), "idempotency_key": key}
        # Accepted and not applied yet (the streamed mode's consumer is behind), or never accepted.
        return {"success": True, "status": "pending", "idempotency_key": key}

    async def get_submission(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
        user_id = require_player(ctx, "get_submission")
        key = payloads.idempotency_key(payloads.json_object(payload))
        return nk.json_encode(await self.outcome(nk, user_id, key))
