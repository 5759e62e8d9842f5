"""What a timed run measured, whichever engine ran it: counts, latency percentiles, errors,
and the load generator's own CPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nakama_py.bench.histogram import Histogram

PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99_9", 99.9))


@dataclass(frozen=True)
class Latency:
    """Milliseconds."""

    p50: float = 0.0
    p90: float = 0.0
    p99: float = 0.0
    p99_9: float = 0.0
    max: float = 0.0
    mean: float = 0.0

    @classmethod
    def of(cls, histogram: Histogram) -> Latency:
        """From a histogram of microseconds."""
        values = {name: histogram.percentile(p) / 1000 for name, p in PERCENTILES}
        return cls(max=histogram.max / 1000, mean=histogram.mean / 1000, **values)

    def as_dict(self) -> dict[str, float]:
        return {name: round(getattr(self, name), 3) for name in ("p50", "p90", "p99", "p99_9", "max", "mean")}


@dataclass
class Counts:
    """Answers by HTTP status plus requests that got none (socket errors, timeouts)."""

    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)

    def add_statuses(self, statuses: Mapping[int | str, int]) -> None:
        for status, n in statuses.items():
            self.statuses[int(status)] = self.statuses.get(int(status), 0) + n

    def add_socket_errors(self, errors: Mapping[str, int]) -> None:
        for kind, n in errors.items():
            if n:
                self.socket_errors[kind] = self.socket_errors.get(kind, 0) + n

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        # Only 200 is success: several official clients treat anything else as a failure.
        return self.statuses.get(200, 0)

    @property
    def errors(self) -> int:
        return self.answered - self.ok + sum(self.socket_errors.values())

    def errors_dict(self) -> dict[str, Any]:
        return {
            "total": self.errors,
            "status": {str(s): n for s, n in sorted(self.statuses.items()) if s != 200},
            "socket": dict(sorted(self.socket_errors.items())),
        }


@dataclass
class Breakdown:
    """One kind of request in a run that sends several (the mix)."""

    counts: Counts
    latency: Latency
    requests_per_s: float


@dataclass
class GeneratorCpu:
    cpu_s: float  # CPU time of every load-generator process over the measured window
    wall_s: float
    processes: int
    busiest: float  # the busiest single process: its CPU time / wall time
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)

    @property
    def machine_share(self) -> float:
        """Fraction of the whole machine's CPU the generator used."""
        return self.cpu_s / self.wall_s / self.cores if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"cpu_s": round(self.cpu_s, 3), "wall_s": round(self.wall_s, 3), "cores": self.cores,
                "processes": self.processes, "machine_percent": round(100 * self.machine_share, 1),
                "busiest_process_percent": round(100 * self.busiest, 1)}


@dataclass
class LoadResult:
    engine: str
    wall_s: float
    counts: Counts
    latency: Latency
    cpu: GeneratorCpu
    kinds: dict[str, Breakdown] = field(default_factory=dict)
    unfinished: int = 0  # open loop: due requests still unanswered at the end (counted at their lower bound)
    max_pending: int = 0  # open loop: most due requests waiting for a free connection at once
    histogram: Histogram | None = None  # microseconds, when the engine keeps one
    samples: list[tuple[int, int, int, int]] | None = None  # (start ns, latency µs, kind or -1, status or 0)
    accepted_wire: Histogram | None = None  # open loop: accepted answers timed from their write (µs)

    @property
    def requests(self) -> int:
        return self.counts.answered

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_s if self.wall_s > 0 else 0.0


def merge_histograms(histograms: Iterable[Histogram]) -> Histogram:
    merged = Histogram()
    for histogram in histograms:
        merged.merge(histogram)
    return merged
