"""Per-node figures of a run through a load balancer (``--node-metrics URL`` once per node).

The balancer spreads the load; the client cannot tell which node answered (Nakama's responses name
none). Each node's Prometheus endpoint (``metrics.prometheus_port``; with ``socket.workers`` > 1 the
sum of its workers) counts what it served, so the run reads every node's counters at the start and
at the end of the measured window and reports, per node: requests served, their share, errors
(a gRPC code other than OK), and the node's own latency (mean, and p50/p99 to the resolution of the
latency buckets of nakama_py/metrics.py), and how its players' standings were proven fresh while other
nodes were alive (at once, after a want's acks, or by the primary: core/node_sync.py). An unbalanced
share or one slow node shows here and not in the client's totals.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

SCRAPE_TIMEOUT_S = 5.0
# Matched by suffix: the prefix is the node's metrics.prefix ("nakama" by default).
REQUESTS = "_api_requests_total"  # a counter by route, method and gRPC code
LATENCY = "_api_request_duration_seconds"  # a histogram
OWN_READS = "_cluster_own_reads_total"  # a counter by proof: at_once, bus, primary


@dataclass
class Scrape:
    """One node's counters at one moment."""

    at: float
    requests: float = 0.0
    errors: float = 0.0
    latency_sum: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)  # upper bound -> cumulative count
    own_reads: dict[str, float] = field(default_factory=dict)  # proof -> count


def parse(text: str) -> Scrape:
    scrape = Scrape(time.monotonic())
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith(REQUESTS):
                scrape.requests += sample.value
                if sample.labels.get("code", "0") not in ("0", "OK"):
                    scrape.errors += sample.value
            elif sample.name.endswith(LATENCY + "_sum"):
                scrape.latency_sum += sample.value
            elif sample.name.endswith(LATENCY + "_bucket"):
                bound = float(sample.labels["le"])
                scrape.buckets[bound] = scrape.buckets.get(bound, 0.0) + sample.value
            elif sample.name.endswith(OWN_READS):
                proof = sample.labels.get("proof", "")
                scrape.own_reads[proof] = scrape.own_reads.get(proof, 0.0) + sample.value
    return scrape


def scrape(url: str) -> Scrape | None:
    """A node's counters; None when it does not answer (it died, or is not up yet)."""
    try:
        with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT_S) as response:
            return parse(response.read().decode())
    except (OSError, ValueError):
        return None


def quantile(buckets: dict[float, float], q: float) -> float | None:
    """The upper bound of the latency bucket holding quantile ``q`` of the counted requests."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    wanted = q * buckets[bounds[-1]]
    for bound in bounds:
        if buckets[bound] >= wanted:
            return bound
    return bounds[-1]


def figures(url: str, start: Scrape | None, end: Scrape | None, total: float) -> dict[str, Any]:
    if start is None or end is None:
        return {"node": url, "error": "no answer from its metrics endpoint"}
    requests = end.requests - start.requests
    window = max(end.at - start.at, 1e-9)
    buckets = {b: end.buckets.get(b, 0.0) - start.buckets.get(b, 0.0) for b in end.buckets}
    p50, p99 = quantile(buckets, 0.5), quantile(buckets, 0.99)
    return {
        "node": url,
        "requests": int(requests),
        "requests_per_s": round(requests / window, 1),
        "share": round(requests / total, 3) if total else 0.0,
        "errors": int(end.errors - start.errors),
        "latency_ms": {
            "mean": round(1000 * (end.latency_sum - start.latency_sum) / requests, 2) if requests else None,
            "p50_at_most": None if p50 is None else round(1000 * p50, 2),
            "p99_at_most": None if p99 is None else round(1000 * p99, 2),
        },
        "own_reads": {proof: int(count - start.own_reads.get(proof, 0.0)) for proof, count in end.own_reads.items()},
    }


class NodeWatch:
    """Scrapes every node when the measured window opens and when it closes."""

    def __init__(self, urls: Sequence[str]) -> None:
        self.urls = list(urls)
        self._start: list[Scrape | None] = []
        self._timer: threading.Timer | None = None

    def open_in(self, delay_s: float) -> None:
        """Take the opening scrape ``delay_s`` from now (the warm-up ends then)."""
        self._timer = threading.Timer(delay_s, self._open)
        self._timer.daemon = True
        self._timer.start()

    def _open(self) -> None:
        self._start = [scrape(url) for url in self.urls]

    def close(self) -> list[dict[str, Any]]:
        """The closing scrape; per-node figures over the window."""
        if self._timer is not None:
            self._timer.join()
        end = [scrape(url) for url in self.urls]
        starts = self._start or [None] * len(self.urls)
        total = sum(e.requests - s.requests for s, e in zip(starts, end, strict=True)
                    if s is not None and e is not None)
        return [figures(url, s, e, total) for url, s, e in zip(self.urls, starts, end, strict=True)]


def table(nodes: list[dict[str, Any]]) -> str:
    lines = ["node                                   requests     req/s  share  errors  mean ms  p50<= ms  p99<= ms"]
    for n in nodes:
        if "error" in n:
            lines.append(f"{n['node']:<38} {n['error']}")
            continue
        lat = n["latency_ms"]
        lines.append(f"{n['node']:<38} {n['requests']:>8} {n['requests_per_s']:>9} {n['share']:>6} {n['errors']:>7} "
                     f"{lat['mean']!s:>8} {lat['p50_at_most']!s:>9} {lat['p99_at_most']!s:>9}")
    return "\n".join(lines)
