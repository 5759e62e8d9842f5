"""Open-loop figures of a server that sheds load: how many requests it refused (429, 503) and the
latency of the ones it accepted (200), from each request's timing (an open loop keeps them).

Two latencies of the accepted requests: from when each was due (what a player of this generator saw,
including the wait for one of its ``--connections`` to come free) and from when its bytes were written
(``accepted_on_wire_ms``: the server's share, the queueing it can bound). When the generator runs out of
connections the first grows with its own queue (``max_pending``), whatever the server does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nakama_py.bench.histogram import Histogram
from nakama_py.bench.results import Latency

SHED_STATUSES = (429, 503)


def shedding(samples: Sequence[tuple[int, int, int, int]], on_wire: Histogram | None = None,
             max_pending: int = 0) -> dict[str, Any]:
    """``samples``: (start ns, latency µs, kind, status) of every measured request; ``on_wire``: the
    accepted ones timed from their write."""
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
            "shed_by_status": {str(status): n for status, n in shed.items() if n},
            "accepted_on_wire_ms": Latency.of(on_wire or Histogram()).as_dict(),
            "max_pending": max_pending}
