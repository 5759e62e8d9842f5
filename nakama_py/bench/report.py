"""The report of a run: a readable table, one JSON line, and warnings about what may have
distorted the figures (a saturated load generator, rate limits, an open loop left behind).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from nakama_py.bench.nodes import table as node_table
from nakama_py.bench.results import Breakdown, Counts, Latency, LoadResult

BUSY_PROCESS_LIMIT = 0.85  # a generator process this busy cannot go faster: it may be the bottleneck
MACHINE_SHARE_LIMIT = 0.40  # the generator took this much of a machine it shares with the server
OPEN_LOOP_SHORTFALL = 0.95


@dataclass
class Phase:
    """Part of a reset-under-load run: before, during or after the finalize."""

    name: str
    wall_s: float
    counts: Counts
    latency: Latency
    unfinished: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"wall_s": round(self.wall_s, 3), "requests": self.counts.answered,
                "requests_per_s": round(self.counts.answered / self.wall_s, 1) if self.wall_s > 0 else 0.0,
                "latency_ms": self.latency.as_dict(), "errors": self.counts.errors_dict(),
                "unfinished": self.unfinished}


@dataclass
class Report:
    scenario: str
    url: str
    mode: str  # "closed" or "open"
    connections: int
    rate: float | None
    warmup_s: float
    duration_s: float
    result: LoadResult
    label: str = ""
    setup: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)  # scenario-specific: cycle, finalize, ...
    phases: list[Phase] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        found = []
        cpu = self.result.cpu
        if cpu.busiest >= BUSY_PROCESS_LIMIT:
            found.append(f"a load-generator process was busy {100 * cpu.busiest:.0f}% of the time: the generator, "
                         "not the server, may be the limit (raise --processes, or use --engine wrk)")
        if cpu.machine_share >= MACHINE_SHARE_LIMIT:
            found.append(f"the load generator used {100 * cpu.machine_share:.0f}% of this machine's {cpu.cores} "
                         "cores: CPU a server on the same machine could not use")
        statuses = self.result.counts.statuses
        if statuses.get(429):
            found.append(f"{statuses[429]} answers were 429 (rate limited): for throughput runs use more --users "
                         "or raise the server's limit (racing_submit_rate_per_minute)")
        if self.rate is not None and self.result.requests_per_s < OPEN_LOOP_SHORTFALL * self.rate:
            found.append(f"the server answered {self.result.requests_per_s:,.0f} req/s of the {self.rate:,.0f} "
                         "offered: it could not keep up (latencies include the wait)")
        if self.result.unfinished:
            found.append(f"{self.result.unfinished} due requests were unanswered at the end "
                         "(counted in the latency at their lower bound)")
        if self.result.counts.errors and not statuses.get(429):
            found.append(f"{self.result.counts.errors} of the requests failed: see errors")
        return found

    def as_dict(self) -> dict[str, Any]:
        result = self.result
        data: dict[str, Any] = {
            "scenario": self.scenario, "url": self.url, "label": self.label, "engine": result.engine,
            "mode": self.mode, "connections": self.connections, "rate": self.rate,
            "warmup_s": self.warmup_s, "duration_s": round(result.wall_s, 3),
            "requests": result.requests, "requests_per_s": round(result.requests_per_s, 1),
            "ok": result.counts.ok, "latency_ms": result.latency.as_dict(), "errors": result.counts.errors_dict(),
            "unfinished": result.unfinished, "generator_cpu": result.cpu.as_dict(),
            "setup": self.setup, "warnings": self.warnings, "notes": self.notes,
        }
        if result.kinds:
            data["kinds"] = {name: _breakdown(b) for name, b in result.kinds.items()}
        if self.rate is not None:
            data["max_pending"] = result.max_pending
        if self.phases:
            data["phases"] = {phase.name: phase.as_dict() for phase in self.phases}
        data.update(self.details)
        return data

    def json_line(self) -> str:
        return orjson.dumps(self.as_dict()).decode()

    def table(self) -> str:
        result = self.result
        loop = (f"open loop at {self.rate:,.0f} req/s over {self.connections} connections" if self.rate is not None
                else f"closed loop, {self.connections} connections")
        lines = [f"nakama-py bench {self.scenario}  {self.url}" + (f"  [{self.label}]" if self.label else ""),
                 f"  {loop}, engine {result.engine}, warm-up {self.warmup_s:g}s, measured {result.wall_s:.1f}s"]
        samples = self.details.get("server_samples") or []
        nodes = self.details.get("nodes")
        details = {k: v for k, v in self.details.items() if k not in ("server_samples", "nodes")}
        for key, value in {**self.setup, **_flat(details)}.items():
            lines.append(f"  {key:24} {value}")
        if samples:
            keys = [k for k in samples[0] if k != "t_s"]
            lines.append("  server samples           " + "  ".join(["t_s", *keys]))
            lines += ["    " + "  ".join(f"{sample.get(k, '')}" for k in ["t_s", *keys]) for sample in samples]
        lines.append("")
        lines.append(_row("", "req/s", "requests", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "errors"))
        lines.append(_latency_row("all", result.requests_per_s, result.counts, result.latency))
        for name, breakdown in result.kinds.items():
            lines.append(_latency_row(name, breakdown.requests_per_s, breakdown.counts, breakdown.latency))
        for phase in self.phases:
            rps = phase.counts.answered / phase.wall_s if phase.wall_s > 0 else 0.0
            lines.append(_latency_row(f"{phase.name} ({phase.wall_s:.2f}s)", rps, phase.counts, phase.latency))
        errors = result.counts.errors_dict()
        described = [f"{status}: {n}" for status, n in errors["status"].items()]
        described += [f"{kind}: {n}" for kind, n in errors["socket"].items()]
        if nodes:
            lines += ["", "  per node (each node's own counters over the measured window):"]
            lines += ["  " + line for line in node_table(nodes).splitlines()]
        lines.append("")
        lines.append(f"  errors                   {', '.join(described) if described else 'none'}")
        cpu = result.cpu
        lines.append(f"  load-generator CPU       {cpu.cpu_s / cpu.wall_s if cpu.wall_s else 0:.2f} cores "
                     f"({100 * cpu.machine_share:.0f}% of {cpu.cores}), busiest process {100 * cpu.busiest:.0f}%")
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  WARNING: {warning}" for warning in self.warnings]
        return "\n".join(lines)


def _breakdown(breakdown: Breakdown) -> dict[str, Any]:
    return {"requests": breakdown.counts.answered, "requests_per_s": round(breakdown.requests_per_s, 1),
            "latency_ms": breakdown.latency.as_dict(), "errors": breakdown.counts.errors_dict()}


def _flat(details: dict[str, Any]) -> dict[str, str]:
    flat = {}
    for key, value in details.items():
        if isinstance(value, dict):
            flat[key] = ", ".join(f"{k} {v}" for k, v in value.items() if v not in (None, "", [], {}))
        else:
            flat[key] = str(value)
    return flat


def _row(*cells: str) -> str:
    name, *rest = cells
    return f"  {name:26}" + "".join(f"{cell:>10}" for cell in rest)


def _latency_row(name: str, rps: float, counts: Counts, latency: Latency) -> str:
    return _row(name, f"{rps:,.0f}", f"{counts.answered:,}", f"{latency.p50:.2f}", f"{latency.p90:.2f}",
                f"{latency.p99:.2f}", f"{latency.p99_9:.2f}", f"{latency.max:.2f}", f"{counts.errors:,}")
