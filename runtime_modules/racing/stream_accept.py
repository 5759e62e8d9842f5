"""``submit_race_time`` in the streamed mode (``racing_submit_mode=stream``): validated and rate limited as
in the direct mode, then appended to the event log ``racing_submissions`` (NATS JetStream) with
``<user id>:<idempotency key>`` as the entry's id, and answered at once:

    {"success": true, "status": "accepted", "cycle": n, "race_time_ms": ms, "idempotency_key": "...",
     "sequence": n}

No database round trip on this path. The consumer (stream_apply.py, on any node) applies it in a batch,
into the cycle it was accepted in; ``get_submission`` tells the outcome. A replay of the key within
JetStream's duplicate window (5 minutes) stores nothing: it answers the receipt once the submission is
applied (the direct mode's reply, with ``"status": "applied"``), else ``accepted`` with
``"duplicate": true``. A later replay is appended again and the consumer's receipts make it a replay.
A player past the rate limit is answered 429 at once, unless the key was already applied (its receipt).
"""

from __future__ import annotations

import math
import time
from typing import Any

from nakama_py.runtime import NakamaModule, RateLimitedError

from . import telemetry
from .accept_window import AcceptWindow
from .access import BOARD
from .cycles import Cycles
from .outcomes import Outcomes
from .settings import RacingSettings

LOG = "racing_submissions"
RATE_WINDOW_SECONDS = 60


def rate_limited(settings: RacingSettings, retry_after: float) -> RateLimitedError:
    return RateLimitedError(f"rate limit exceeded: at most {settings.submit_rate_per_minute} submissions per minute; "
                            f"retry in {max(1, math.ceil(retry_after))} s", retry_after)


class StreamAccept:
    def __init__(self, settings: RacingSettings, cycles: Cycles, outcomes: Outcomes) -> None:
        self.settings = settings
        self.cycles = cycles
        self.outcomes = outcomes
        self.window = AcceptWindow(settings.submit_rate_per_minute, RATE_WINDOW_SECONDS)

    async def accept(self, nk: NakamaModule, user_id: str, username: str | None, seconds: float, key: str,
                     metadata: dict[str, Any] | None, *, board: str = BOARD, region: str | None = None) -> str:
        """``board``: the player's region's board with racing_regions (the entry's ``b``; absent for the
        one board, so a log written without regions reads the same)."""
        retry_after = self.window.retry_after(user_id)
        if retry_after > 0:
            # A replay never counts: one already applied answers its receipt even now.
            outcome = await self.outcomes.outcome(nk, user_id, key)
            if outcome["status"] == "applied":
                nk.metrics_counter_add(telemetry.SUBMISSIONS_REJECTED, {"reason": "duplicate"}, 1)
                return nk.json_encode(outcome)
            nk.metrics_counter_add(telemetry.SUBMISSIONS_REJECTED, {"reason": "rate_limit"}, 1)
            raise rate_limited(self.settings, retry_after)
        now = time.time()
        cycle = self.cycles.of(now)
        race_time_ms = round(seconds * 1000)
        entry = {"u": user_id, "n": username or "", "k": key, "ms": race_time_ms, "c": cycle, "m": metadata,
                 "t": now}
        if board != BOARD:
            entry["b"] = board
        self.window.take(user_id)
        try:
            appended = await nk.event_log_append(LOG, nk.json_encode(entry), f"{user_id}:{key}")
        except BaseException:
            self.window.give_back(user_id)
            raise
        reply: dict[str, Any] = {"success": True, "status": "accepted", "cycle": cycle, "race_time_ms": race_time_ms,
                                 "idempotency_key": key, "sequence": appended.sequence}
        if region is not None:
            reply["region"] = region
        if appended.duplicate:
            self.window.give_back(user_id)  # replays never count
            nk.metrics_counter_add(telemetry.SUBMISSIONS_REJECTED, {"reason": "duplicate"}, 1)
            outcome = await self.outcomes.outcome(nk, user_id, key)
            return nk.json_encode(outcome if outcome["status"] != "pending" else {**reply, "duplicate": True})
        nk.metrics_counter_add(telemetry.SUBMISSIONS_QUEUED, None, 1)
        return nk.json_encode(reply)
