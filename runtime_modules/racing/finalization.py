"""Finalizing a cycle exactly once, however many times and from however many processes.

1. The snapshot of the top entries is written create-only (system-owned ``race_data``
   ``snapshot_<cycle>``). The first writer wins; everyone else reads and uses the winner's.
2. Each rewarded player is paid in one transaction that both credits the wallet (with a
   ledger entry) and creates the receipt ``reward_<cycle>`` owned by that player,
   create-only, and stores the player's "Racing reward" notification (cycle, rank, coins):
   a second payment finds the receipt and changes nothing. A crash midway
   leaves some players paid; the next finalization pays the others.
3. Each payment writes one audit log line.

Runs from the leaderboard-reset hook at every cycle end, and from ``manual_reset_leaderboard``
(an external scheduler, an operator).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nakama_py.runtime import (
    Code,
    Context,
    Leaderboard,
    NakamaError,
    NakamaModule,
    RuntimeLogger,
    StorageVersionConflict,
)

from . import payloads, telemetry
from .access import BOARD, COLLECTION, require_backend
from .cycles import Cycles
from .settings import RacingSettings
from .stream_accept import LOG as STREAM_LOG

# Writes that computed their period just before a cycle ended may commit just after it:
# the hook waits this long past the end before taking the snapshot.
SETTLE_SECONDS = 1.0


def snapshot_key(cycle: int) -> str:
    return f"snapshot_{cycle}"


def reward_key(cycle: int) -> str:
    return f"reward_{cycle}"


LAST_RESET_KEY = "last_reset"

# The persistent notification each rewarded player gets (a game code: positive, below Nakama's reserved range).
REWARD_SUBJECT = "Racing reward"
REWARD_CODE = 101


# (nk, cycle, n) -> the cycle's first n entries ({"rank", "user_id", "username", "race_time_ms", ...}) and its
# number of records.
StandingsReader = Callable[[NakamaModule, int, int], Awaitable[tuple[list[dict[str, Any]], int]]]


def _everyone(entry: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Payout:
    """One set of rewards per cycle: the cycle's standings (the only set without regions; the global
    standings with them) or, with ``racing_region_rewards``, one region's. Its snapshot and receipts
    carry ``suffix`` (``""``, or ``".<region>"``) after the cycle in their keys."""

    suffix: str
    rewards: tuple[int, ...]
    read: StandingsReader
    reason: str = "racing_reward"                                # the wallet ledger entry's reason
    pays: Callable[[dict[str, Any]], bool] = _everyone           # the entries this cluster pays
    content: Mapping[str, Any] = field(default_factory=dict)     # added to the notification's content


class Finalizer:
    def __init__(self, settings: RacingSettings, cycles: Cycles) -> None:
        self.settings = settings
        self.cycles = cycles
        # Set by racing_regions (region_finalization.py); without regions, the one board's standings.
        self.payouts: list[Payout] = [Payout("", settings.rewards, self._board_standings)]

    async def _board_standings(self, nk: NakamaModule, cycle: int, n: int) -> tuple[list[dict[str, Any]], int]:
        expiry = self.cycles.end(cycle)
        page = await nk.leaderboard_records_list(BOARD, limit=n, expiry=expiry)
        records = await nk.leaderboard_ranks_load(BOARD, expiry)
        return [{"rank": index + 1, "user_id": r.owner_id, "username": r.username or "",
                 "race_time_ms": r.score} for index, r in enumerate(page.records)], records

    async def _read(self, nk: NakamaModule, key: str, user_id: str | None = None) -> dict[str, Any] | None:
        objects = await nk.storage_read([{"collection": COLLECTION, "key": key, "user_id": user_id}])
        return nk.json_decode(objects[0].value) if objects else None

    async def _snapshot(self, nk: NakamaModule, cycle: int, payout: Payout) -> tuple[dict[str, Any], bool]:
        """The cycle's snapshot (of one payout) and whether this call created it."""
        key = snapshot_key(cycle) + payout.suffix
        existing = await self._read(nk, key)
        if existing is not None:
            return existing, False
        entries, records = await payout.read(nk, cycle, len(payout.rewards))
        snapshot = {
            "cycle": cycle,
            "ends_at": self.cycles.ends_at(cycle),
            "records": records,
            "entries": entries,
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        try:
            await nk.storage_write([{"collection": COLLECTION, "key": key, "user_id": None,
                                     "value": snapshot, "version": "*", "permission_read": 2,
                                     "permission_write": 0}])
        except StorageVersionConflict:  # another finalization created it first
            winner = await self._read(nk, key)
            if winner is None:
                raise
            return winner, False
        return snapshot, True

    async def _pay(self, nk: NakamaModule, logger: RuntimeLogger, cycle: int, entry: dict[str, Any],
                   coins: int, payout: Payout) -> bool:
        """Pay one player once; False when an earlier finalization already did."""
        receipt = {"cycle": cycle, "rank": entry["rank"], "coins": coins, "race_time_ms": entry["race_time_ms"],
                   **payout.content,
                   "paid_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        try:
            await nk.multi_update(
                storage_writes=[{"collection": COLLECTION, "key": reward_key(cycle) + payout.suffix,
                                 "user_id": entry["user_id"], "value": receipt, "version": "*",
                                 "permission_read": 1, "permission_write": 0}],
                wallet_updates=[{"user_id": entry["user_id"], "changeset": {"coins": coins},
                                 "metadata": {"reason": payout.reason, "cycle": cycle, "rank": entry["rank"],
                                              **payout.content}}],
                # In the same transaction as the receipt: exactly one notification per reward paid.
                notifications=[{"user_id": entry["user_id"], "subject": REWARD_SUBJECT, "code": REWARD_CODE,
                                "content": {"cycle": cycle, "rank": entry["rank"], "coins": coins,
                                            **payout.content},
                                "persistent": True}])
        except StorageVersionConflict:  # the receipt exists: paid before
            return False
        logger.info("reward paid", audit=payout.reason, **payout.content, cycle=cycle, rank=entry["rank"],
                    user_id=entry["user_id"], username=entry["username"], race_time_ms=entry["race_time_ms"],
                    coins=coins)
        nk.metrics_counter_add(telemetry.REWARDS_PAID, None, 1)
        nk.metrics_counter_add(telemetry.REWARD_COINS_PAID, None, coins)
        return True

    async def finalize(self, nk: NakamaModule, logger: RuntimeLogger, cycle: int) -> dict[str, Any]:
        started = time.perf_counter()
        # Streamed mode: every submission accepted before now (the cycle's included) must be on the board first.
        if self.settings.submit_mode == "stream" and not await nk.event_log_wait_applied(
                STREAM_LOG, self.settings.stream_drain_seconds):
            raise NakamaError(f"cycle {cycle}: the streamed submissions were not all applied within "
                              f"{self.settings.stream_drain_seconds:g} s; finalization will be retried",
                              Code.UNAVAILABLE)
        try:
            settled = [await self._settle(nk, logger, cycle, payout) for payout in self.payouts]
        except Exception:
            nk.metrics_counter_add(telemetry.FINALIZE_FAILURES, None, 1)
            logger.error("finalize failed", cycle=cycle)
            raise
        snapshot, snapshot_created, _, rewarded = settled[0]
        created = any(s[1] for s in settled)
        paid_now = sum(s[2] for s in settled)
        elapsed = time.perf_counter() - started
        now = time.time()
        if snapshot_created:
            nk.metrics_counter_add(telemetry.RECORDS_FINALIZED, None, snapshot.get("records", 0))
        nk.metrics_timer_record(telemetry.FINALIZE_DURATION, None, elapsed)
        nk.metrics_gauge_set(telemetry.LAST_FINALIZE, None, now)
        duration_ms = round(elapsed * 1000, 3)
        if created or paid_now:  # a call that found the work done does not replace the record of it
            await nk.storage_write([{"collection": COLLECTION, "key": LAST_RESET_KEY, "user_id": None, "value": {
                "cycle": cycle, "duration_ms": duration_ms,
                "at": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")},
                "permission_read": 0, "permission_write": 0}])
        logger.info("cycle finalized", cycle=cycle, created_snapshot=created, paid=paid_now, duration_ms=duration_ms)
        reply = {"cycle": cycle, "finalized": True, "already_finalized": not created and paid_now == 0,
                 "rewarded": rewarded, "duration_ms": duration_ms}
        if len(settled) > 1:  # racing_region_rewards: each local region's own rewards
            reply["region_rewarded"] = {payout.suffix.lstrip("."): s[3]
                                        for payout, s in zip(self.payouts[1:], settled[1:], strict=True)}
        return reply

    async def _settle(self, nk: NakamaModule, logger: RuntimeLogger, cycle: int,
                      payout: Payout) -> tuple[dict[str, Any], bool, int, list[dict[str, Any]]]:
        """One payout of a cycle: (its snapshot, whether this call created it, rewards paid now, the
        rewards this cluster pays)."""
        snapshot, created = await self._snapshot(nk, cycle, payout)
        entries = [entry for entry in snapshot["entries"] if payout.pays(entry)]
        # A player deleted since the race cannot be paid (and cannot sign in to spend it).
        ids = [entry["user_id"] for entry in entries]
        present = {user.id for user in await nk.users_get_id(ids)} if ids else set()
        due: list[tuple[dict[str, Any], int]] = []
        for entry in entries:
            if entry["user_id"] not in present:
                logger.warn("reward skipped: the player no longer exists", cycle=cycle, rank=entry["rank"],
                            user_id=entry["user_id"])
                continue
            coins = payout.rewards[entry["rank"] - 1] if entry["rank"] <= len(payout.rewards) else 0
            if coins > 0:
                due.append((entry, coins))
        # Each payment is its own transaction, independent of the others: pay them together.
        paid = await asyncio.gather(*(self._pay(nk, logger, cycle, entry, coins, payout) for entry, coins in due))
        return snapshot, created, sum(paid), [{**entry, "coins": coins} for entry, coins in due]

    # --- the entry points ----------------------------------------------------------

    async def manual_reset_leaderboard(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule,
                                       payload: str) -> str:
        require_backend(ctx, "manual_reset_leaderboard")
        body = payloads.json_object(payload)
        now = time.time()
        current = self.cycles.of(now)
        cycle = payloads.optional_int(body, "cycle", low=0)
        if cycle is None:
            cycle = current - 1
        if cycle >= current:
            raise NakamaError(f"cycle {cycle} has not ended yet (the current cycle is {current})",
                              Code.INVALID_ARGUMENT)
        if self.cycles.end(cycle) <= now - self.settings.retention_seconds:
            raise NakamaError(f"cycle {cycle} is no longer kept", Code.NOT_FOUND)
        return nk.json_encode(await self.finalize(nk, logger, cycle))

    async def on_leaderboard_reset(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule,
                                   leaderboard: Leaderboard, reset: int) -> None:
        if leaderboard.id != BOARD:
            return
        wait = reset + SETTLE_SECONDS - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        await self.finalize(nk, logger, self.cycles.of_expiry(reset))
