"""A run's requests second by second (from each request's start and latency): throughput, errors and
latency percentiles over time, for the HTML report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nakama_py.bench.histogram import Histogram

Sample = tuple[int, int, int, int]  # (start ns, latency µs, kind or -1 when unanswered, status or 0)


@dataclass(frozen=True)
class Second:
    at_s: float           # seconds since the measured window opened
    requests: int         # answered requests started in this second
    errors: int           # of them, answers other than 200 (and unanswered ones)
    p50_ms: float
    p99_ms: float


def timeline(samples: Sequence[Sample], origin_ns: int, bucket_s: float = 1.0) -> list[Second]:
    """One point per ``bucket_s`` of the run, by when requests started."""
    if not samples:
        return []
    width = int(bucket_s * 1e9)
    last = max(start for start, *_ in samples)
    buckets = [(Histogram(), [0, 0]) for _ in range((last - origin_ns) // width + 1)]
    for start, latency_us, kind, status in samples:
        index = max(0, (start - origin_ns) // width)
        histogram, counts = buckets[index]
        histogram.record(latency_us)
        counts[0] += 1
        if kind < 0 or status != 200:
            counts[1] += 1
    return [Second(round(i * bucket_s, 3), counts[0], counts[1], histogram.percentile(50) / 1000,
                   histogram.percentile(99) / 1000)
            for i, (histogram, counts) in enumerate(buckets)]
