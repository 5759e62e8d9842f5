"""``submit_race_time``: a player's race time for the current cycle, idempotent and rate limited.
This is the direct mode (``racing_submit_mode=direct``, the default); the streamed mode hands the
validated submission to stream_accept.py instead.

One database round trip for an accepted submission: ``nk.leaderboard_record_write_once``
checks the idempotency key, counts the rate-limit window, writes the record and stores
the receipt in a single statement. A replayed key returns the first call's receipt, so
the reply is the same; replays do not count toward the rate limit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from nakama_py.runtime import Context, NakamaError, NakamaModule, RateLimitedError, RuntimeLogger

from . import payloads, replies, telemetry
from .access import BOARD, require_player
from .cycles import Cycles
from .player_regions import PlayerRegions, requested_region
from .region_settings import region_board
from .settings import RacingSettings
from .standings import Standings
from .stream_accept import StreamAccept

RATE_WINDOW_SECONDS = 60


class Submissions:
    def __init__(self, settings: RacingSettings, cycles: Cycles, standings: Standings,
                 stream: StreamAccept | None = None) -> None:
        self.settings = settings
        self.cycles = cycles
        self.standings = standings
        self.stream = stream  # racing_submit_mode=stream: accepted here, applied by stream_apply.py
        self.regions: PlayerRegions | None = None  # racing_regions: each player's board is their region's
        self.on_change: list[Callable[[str, int], None]] = []  # (board, rank) after each accepted write
        self.boards = [BOARD]  # the current cycle's boards the leaderboard-size metric adds up

    def _rejected(self, nk: NakamaModule, reason: str) -> None:
        nk.metrics_counter_add(telemetry.SUBMISSIONS_REJECTED, {"reason": reason}, 1)

    async def submit_race_time(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
        user_id = require_player(ctx, "submit_race_time")
        settings = self.settings
        try:
            body = payloads.json_object(payload)
            seconds = payloads.race_time(body, settings.min_race_seconds, settings.max_race_seconds)
            key = payloads.idempotency_key(body)
            metadata = payloads.metadata(body)
            region = requested_region(body, ctx) if self.regions is not None else None
        except NakamaError:
            self._rejected(nk, "invalid")
            raise
        if self.stream is not None:
            region, board = await self._board_of(nk, user_id, region)
            return await self.stream.accept(nk, user_id, ctx.username, seconds, key, metadata, board=board,
                                            region=region)
        return nk.json_encode(await self.record(nk, user_id, ctx.username, seconds, key, metadata, region))

    async def _board_of(self, nk: NakamaModule, user_id: str, region: str | None) -> tuple[str | None, str]:
        """The player's region (fixed by their first submission: player_regions.py) and its board; without
        regions, none and the one board."""
        if self.regions is None:
            return None, BOARD
        try:
            region = await self.regions.fix(nk, user_id, region)
        except NakamaError:
            self._rejected(nk, "invalid")
            raise
        return region, region_board(region)

    async def record(self, nk: NakamaModule, user_id: str, username: str | None, seconds: float, key: str,
                     metadata: dict[str, Any] | None, region: str | None = None) -> dict[str, Any]:
        """Write one race time (idempotent by ``key``): the RPC's path, and the live race's (race_match.py),
        which submits the time its own clock measured. With regions, into the player's region's board
        (``region`` names it on the first submission: player_regions.py)."""
        settings = self.settings
        region, board = await self._board_of(nk, user_id, region)
        try:
            receipt = await nk.leaderboard_record_write_once(
                board, user_id, key, score=round(seconds * 1000), username=username, metadata=metadata,
                ttl_seconds=settings.idempotency_ttl_seconds,
                rate_limit=(settings.submit_rate_per_minute, RATE_WINDOW_SECONDS))
        except RateLimitedError as exc:
            self._rejected(nk, "rate_limit")
            # RateLimitedError (code 8) so the reply carries Retry-After, as docs/runtime.md promises.
            raise RateLimitedError(f"rate limit exceeded: at most {settings.submit_rate_per_minute} submissions "
                                   f"per minute; retry in {max(1, math.ceil(exc.retry_after))} s",
                                   exc.retry_after) from None
        if receipt.replayed:
            self._rejected(nk, "duplicate")
        else:
            nk.metrics_counter_add(telemetry.SUBMISSIONS_ACCEPTED, None, 1)
            self.standings.changed(receipt.rank)
            for notify in self.on_change:
                notify(board, receipt.rank)
            size = sum([(await nk.leaderboard_top(b, 0)).total for b in self.boards])  # from memory
            nk.metrics_gauge_set(telemetry.LEADERBOARD_SIZE, None, size)
        reply = replies.applied(self.cycles, receipt)
        if self.regions is not None:
            reply["region"] = region
        return reply
