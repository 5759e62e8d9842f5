"""The streamed mode's consumer: applies the ``racing_submissions`` log in batches, on every node.

One batch is one transaction of leaderboard writes (``nk.leaderboard_records_write_once``), each into
the cycle its submission was accepted in, each through its idempotency receipt: a batch delivered again
(a process killed mid-batch, NATS restarted before the acknowledgement) finds its receipts and writes
nothing twice. The rate limit is applied here as in the direct mode (authoritative, from the receipts).
Entries rejected by the screens (``initializer.register_event_log_screen("racing_submissions", fn)``:
the fraud-screening hook point), by the rate limit, or for a cycle no longer kept are recorded as the
player's rejected outcome (outcomes.py) and never applied.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from nakama_py.runtime import Context, LogBatch, NakamaError, NakamaModule, RateLimitedError, RuntimeLogger

from . import telemetry
from .access import BOARD
from .cycles import Cycles
from .outcomes import rejection_write
from .settings import RacingSettings
from .standings import Standings
from .stream_accept import RATE_WINDOW_SECONDS
from .submissions import Submissions


def _submission(nk: NakamaModule, data: bytes) -> dict[str, Any] | None:
    try:
        value = nk.json_decode(data)
    except NakamaError:
        return None
    if not isinstance(value, dict) or not all(isinstance(value.get(f), t) for f, t in
                                              (("u", str), ("k", str), ("ms", int), ("c", int))):
        return None
    return value


class StreamApply:
    def __init__(self, settings: RacingSettings, cycles: Cycles, standings: Standings,
                 submissions: Submissions) -> None:
        self.settings = settings
        self.cycles = cycles
        self.standings = standings
        self.submissions = submissions  # this cluster's boards (one, or a board per local region) and their listeners

    async def apply(self, ctx: Context, logger: RuntimeLogger, nk: NakamaModule, batch: LogBatch) -> None:
        now = time.time()
        by_board: dict[tuple[int, str], list[tuple[dict[str, Any], float]]] = defaultdict(list)
        boards = self.submissions.boards
        rejections: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in batch.entries:
            submission = _submission(nk, entry.data)
            if submission is None:  # not ours to apply; acknowledged with the batch so it cannot block the log
                logger.error("racing_submissions entry is not a submission; dropped", sequence=entry.sequence)
                continue
            user_id, key = submission["u"], submission["k"]
            if entry.msg_id in batch.rejected:
                rejections[(user_id, key)] = rejection_write(user_id, key, "screened", batch.rejected[entry.msg_id])
            elif self.cycles.end(submission["c"]) <= now - self.settings.retention_seconds:
                rejections[(user_id, key)] = rejection_write(user_id, key, "expired",
                                                             f"cycle {submission['c']} is no longer kept")
            elif (board := submission.get("b", BOARD)) not in boards:  # a region this cluster does not serve now
                rejections[(user_id, key)] = rejection_write(user_id, key, "invalid", f"unknown board {board!r}")
            else:
                by_board[(submission["c"], board)].append((submission, entry.appended_at))
        applied = replayed = 0
        for (cycle, board), items in sorted(by_board.items()):
            writes = [{"owner_id": s["u"], "key": s["k"], "score": s["ms"], "username": s.get("n") or None,
                       "metadata": s.get("m")} for s, _ in items]
            results = await nk.leaderboard_records_write_once(
                board, writes, ttl_seconds=self.settings.idempotency_ttl_seconds,
                rate_limit=(self.settings.submit_rate_per_minute, RATE_WINDOW_SECONDS), expiry=self.cycles.end(cycle))
            done = time.time()
            for (submission, appended_at), result in zip(items, results, strict=True):
                user_id, key = submission["u"], submission["k"]
                if isinstance(result, RateLimitedError):
                    nk.metrics_counter_add(telemetry.SUBMISSIONS_REJECTED, {"reason": "rate_limit"}, 1)
                    rejections[(user_id, key)] = rejection_write(user_id, key, "rate_limit", result.message)
                elif isinstance(result, NakamaError):
                    nk.metrics_counter_add(telemetry.SUBMISSIONS_REJECTED, {"reason": "invalid"}, 1)
                    rejections[(user_id, key)] = rejection_write(user_id, key, "invalid", result.message)
                elif result.replayed:  # delivered again after its batch committed (a crash, a lost acknowledgement)
                    nk.metrics_counter_add(telemetry.STREAM_REPLAYED, None, 1)
                    replayed += 1
                else:
                    applied += 1
                    self.standings.changed(result.rank)
                    for notify in self.submissions.on_change:
                        notify(board, result.rank)
                    nk.metrics_counter_add(telemetry.SUBMISSIONS_ACCEPTED, None, 1)
                    nk.metrics_timer_record(telemetry.STREAM_LAG, None, max(0.0, done - appended_at))
        if rejections:
            await nk.storage_write(list(rejections.values()))
        redelivered = sum(1 for entry in batch.entries if entry.deliveries > 1)
        if replayed or redelivered:
            logger.info("racing_submissions batch delivered again", applied=applied, replayed=replayed,
                        redelivered=redelivered, entries=len(batch.entries))
        if applied:
            size = sum([(await nk.leaderboard_top(b, 0)).total for b in boards])  # from memory
            nk.metrics_gauge_set(telemetry.LEADERBOARD_SIZE, None, size)
