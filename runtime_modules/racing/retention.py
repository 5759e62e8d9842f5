"""Retention: the records of cycles older than ``racing_retention_days`` and idempotency keys
past their ttl are deleted, by one server process at a time, while play goes on: a day of expired
cycles that only this board wrote is dropped whole (a partition of leaderboard_record), what
remains in bounded batches. ``run_retention`` (http_key) runs it now, for operators and the
benchmark of an expired cycle's drop under load."""

from __future__ import annotations

import asyncio
import time

from nakama_py.runtime import Context, NakamaModule, RuntimeLogger

from .access import BOARD, require_backend
from .settings import RacingSettings

BATCH_SIZE = 2000


class Retention:
    def __init__(self, settings: RacingSettings) -> None:
        self.settings = settings
        self.boards = [BOARD]  # with racing_regions, each local region's board too (region_wiring.py)

    async def run(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule) -> None:
        await self.sweep(logger, nk)

    async def run_retention(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
        require_backend(ctx, "run_retention")
        started = time.monotonic()
        records, receipts = await self.sweep(logger, nk)
        return nk.json_encode({"records_deleted": records, "idempotency_keys_deleted": receipts,
                               "duration_ms": round(1000 * (time.monotonic() - started), 1)})

    async def sweep(self, logger: RuntimeLogger, nk: NakamaModule) -> tuple[int, int]:
        cutoff = int(time.time() - self.settings.retention_seconds)
        records = 0
        for board in self.boards:
            records += await nk.leaderboard_records_delete_expired(board, cutoff, BATCH_SIZE)  # batches inside
        receipts = 0
        while True:
            purged = await nk.leaderboard_record_write_once_purge(BATCH_SIZE)
            receipts += purged
            if purged < BATCH_SIZE:
                break
            await asyncio.sleep(0.05)  # give submissions the database between batches
        if records or receipts:
            logger.info("retention", records_deleted=records, idempotency_keys_deleted=receipts)
        return records, receipts
