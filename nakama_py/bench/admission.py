"""Open-loop figures of a server that sheds load: how many requests it refused (429, 503) and the
latency of the ones it accepted (200), from each request's timing (an open loop keeps them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nakama_py.bench.histogram import Histogram
from nakama_py.bench.results import Latency

SHED_STATUSES = (429, 503)


def shedding(samples: Sequence[tuple[int, int, int, int]]) -> dict[str, Any]:
    """``samples``: (start ns, latency µs, kind, status) of every measured request."""
    accepted = Histogram()
    shed = dict.fromkeys(SHED_STATUSES, 0)
    for _, latency_us, _, status in samples:
        if status == 200:
            accepted.record(latency_us)
        elif status in shed:
            shed[status] += 1
    total = len(samples)
    refused = sum(shed.values())
    return {"accepted": accepted.count, "accepted_latency_ms": Latency.of(accepted).as_dict(),
            "shed": refused, "shed_share": round(refused / total, 4) if total else 0.0,
            "shed_by_status": {str(status): n for status, n in shed.items() if n}}
