"""The racing metrics, exported on the Prometheus endpoint as ``<prefix>_custom_<name>``
(``nakama_custom_racing_submissions_accepted_total`` with the default prefixes)."""

from __future__ import annotations

from nakama_py.runtime import NakamaModule

SUBMISSIONS_ACCEPTED = "racing_submissions_accepted"        # applied to the leaderboard
SUBMISSIONS_QUEUED = "racing_submissions_queued"            # streamed mode: appended to the event log
STREAM_LAG = "racing_stream_apply_lag_seconds"              # streamed mode: appended -> applied
STREAM_REPLAYED = "racing_stream_replayed"                  # streamed mode: entries found applied before
SUBMISSIONS_REJECTED = "racing_submissions_rejected"        # label reason: invalid | duplicate | rate_limit
LEADERBOARD_SIZE = "racing_leaderboard_size"                # records in the current cycle
FINALIZE_DURATION = "racing_finalize_duration_seconds"
RECORDS_FINALIZED = "racing_records_finalized"
REWARDS_PAID = "racing_rewards_paid"
REWARD_COINS_PAID = "racing_reward_coins_paid"
FINALIZE_FAILURES = "racing_finalize_failures"
LAST_FINALIZE = "racing_last_finalize_timestamp_seconds"

REJECTION_REASONS = ("invalid", "duplicate", "rate_limit")


def declare(nk: NakamaModule) -> None:
    """Create the counter series up front, so dashboards and alerts see zeros rather than nothing.
    (The finalize histogram and timestamp appear with the first finalization.)"""
    nk.metrics_counter_add(SUBMISSIONS_ACCEPTED, None, 0)
    nk.metrics_counter_add(SUBMISSIONS_QUEUED, None, 0)
    nk.metrics_counter_add(STREAM_REPLAYED, None, 0)
    for reason in REJECTION_REASONS:
        nk.metrics_counter_add(SUBMISSIONS_REJECTED, {"reason": reason}, 0)
    for name in (RECORDS_FINALIZED, REWARDS_PAID, REWARD_COINS_PAID, FINALIZE_FAILURES):
        nk.metrics_counter_add(name, None, 0)
    nk.metrics_gauge_set(LEADERBOARD_SIZE, None, 0)
