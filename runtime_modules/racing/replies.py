"""The reply a submission's outcome gives, the same in every mode and from ``get_submission``."""

from __future__ import annotations

from typing import Any

from nakama_py.runtime import WriteReceipt

from .cycles import Cycles


def applied(cycles: Cycles, receipt: WriteReceipt) -> dict[str, Any]:
    """A submission that reached the leaderboard (now, or earlier for a replayed key)."""
    record = receipt.record
    expiry = int(record.expiry_time.timestamp()) if record.expiry_time else 0
    return {
        "success": True,
        "cycle": cycles.of_expiry(expiry),
        "race_time_ms": receipt.submitted_score,
        "best_time_ms": record.score,
        "rank": receipt.rank,
        "personal_best": receipt.updated,
    }
