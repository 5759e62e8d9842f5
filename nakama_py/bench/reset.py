"""reset-under-load: the mix keeps running while a filled cycle ends and is finalized.

Timeline: fill the current cycle with --records records; start the mix so that the cycle
ends a few seconds into the measured window; at the cycle's end call
``manual_reset_leaderboard`` for it with the http key; keep the load going a little after
the finalize; then split the load's requests into before / during / after the finalize.

A server that also finalizes on its own at each cycle end (a reset hook or scheduler) may
win the race: the call then answers ``already_finalized`` and the finalize time comes from
``system_metrics.last_reset`` instead, timed from the cycle's end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from nakama_py.bench.cycle import CycleState, FinalizeCall, finalize, system_metrics
from nakama_py.bench.engine import LoadPlan, RunningLoad
from nakama_py.bench.histogram import Histogram
from nakama_py.bench.options import Options
from nakama_py.bench.pool import HttpPool
from nakama_py.bench.report import Phase, Report
from nakama_py.bench.results import Counts, Latency, LoadResult
from nakama_py.bench.scenarios import TOKEN_MARGIN_S, BenchError, Log, Prepared, prepare
from nakama_py.bench.target import Target
from nakama_py.bench.users import refresh_expiring

SPAWN_ALLOWANCE_S = 1.5  # start the workers this long before their load begins
TAIL_S = 2.0  # measured load kept going after the finalize, at least
MAX_LEAD_S = 5.0  # measured load before the cycle ends, at most
MIN_LEAD_S = 1.0  # at least this much, or the next cycle is filled and used
LAST_RESET_WAIT_S = 60.0


def run_reset_under_load(options: Options, target: Target, log: Log) -> Report:
    return asyncio.run(_run(options, target, log))


async def _run(options: Options, target: Target, log: Log) -> Report:
    prepared = await prepare(options, target, cycle_must_last_s=SPAWN_ALLOWANCE_S + MIN_LEAD_S, log=log)
    cycle = prepared.cycle
    assert cycle is not None
    lead = max(MIN_LEAD_S, min(MAX_LEAD_S, options.duration_s / 4))
    # Shrink the warm-up, then the lead, when the filled cycle ends sooner than both need.
    available = cycle.remaining - SPAWN_ALLOWANCE_S
    warmup = max(0.0, min(options.warmup_s, available - lead))
    lead = max(0.0, min(lead, available - warmup))
    notes = []
    if warmup < options.warmup_s:
        notes.append(f"warm-up shortened to {warmup:.1f}s: cycle {cycle.cycle} ended sooner")
    wait = cycle.remaining - lead - warmup - SPAWN_ALLOWANCE_S
    if wait > 0:
        log(f"cycle {cycle.cycle} ({cycle.total} records) ends in {cycle.remaining:.0f}s: "
            f"starting the load {lead + warmup:.0f}s before")
        await asyncio.sleep(wait)
    sessions = prepared.users
    async with HttpPool(target, size=16) as pool:
        sessions = await refresh_expiring(pool, sessions, cycle.ends_at + options.duration_s + TOKEN_MARGIN_S)
    plan = LoadPlan(target, prepared.traffic, sessions, options.connections, options.rate or 0.0,
                    options.processes, warmup, None, options.timeout_s, keep_samples=True)
    with RunningLoad(plan) as load:
        await asyncio.to_thread(load.start, _monotonic_at(cycle.ends_at - lead - warmup))
        # At the cycle's end, or later if the workers started late: never before the window opens.
        finalize_at = max(_monotonic_at(cycle.ends_at + 0.05), load.measure_ns + int(lead * 1e9))
        log(f"load running; finalizing cycle {cycle.cycle} in {(finalize_at - time.monotonic_ns()) / 1e9:.1f}s")
        call, finalized_by, server_ms = await _finalize_at(target, cycle, finalize_at)
        window = _window(call, cycle, finalized_by, server_ms)
        end_ns = max(load.measure_ns + int(options.duration_s * 1e9), window[1] + int(TAIL_S * 1e9))
        load.end(end_ns)
        result = await asyncio.to_thread(load.collect)
    return _report(options, target, prepared, result, cycle, call, finalized_by, server_ms, window,
                   load.measure_ns, end_ns, warmup, notes)


async def _finalize_at(target: Target, cycle: CycleState, at_ns: int) -> tuple[FinalizeCall, str, float | None]:
    """Calls the finalize at ``at_ns`` (monotonic); who did the work, and the server's finalize time."""
    await asyncio.sleep(max(0.0, (at_ns - time.monotonic_ns()) / 1e9))
    async with HttpPool(target, size=1, timeout=120.0) as pool:
        call = await finalize(pool, cycle.cycle)
        if call.status != 200:
            return call, "", None
        if not call.reply.get("already_finalized"):
            return call, "bench", _float(call.reply.get("duration_ms"))
        # The server's own scheduler got there first (it may still be at work): its
        # last_reset tells how long it took once it names this cycle.
        deadline = time.monotonic() + LAST_RESET_WAIT_S
        while True:
            metrics = await system_metrics(pool) or {}
            last = metrics.get("last_reset") or {}
            if last.get("cycle") == cycle.cycle or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        server_ms = _float(last.get("duration_ms")) if last.get("cycle") == cycle.cycle else None
        return call, "server", server_ms


def _window(call: FinalizeCall, cycle: CycleState, finalized_by: str, server_ms: float | None) -> tuple[int, int]:
    """The finalize's span in monotonic ns: the call itself, or from the cycle end for the server's own."""
    if finalized_by != "server":
        return call.started_ns, call.ended_ns
    start = min(_monotonic_at(cycle.ends_at), call.started_ns)
    return start, max(call.ended_ns, start + int((server_ms or 0.0) * 1e6))


def _monotonic_at(unix_time: float) -> int:
    return time.monotonic_ns() + int((unix_time - time.time()) * 1e9)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def split_phases(samples: Sequence[tuple[int, int, int, int]], measure_ns: int, end_ns: int,
                 window: tuple[int, int]) -> list[Phase]:
    """Requests answered before the finalize began, in flight at any moment of it, started after it."""
    start, stop = window
    parts = {name: (Counts(), Histogram(), [0]) for name in ("before", "during", "after")}
    for began, latency_us, kind, status in samples:
        finished = began + latency_us * 1000
        name = "before" if finished < start else ("after" if began > stop else "during")
        counts, histogram, unfinished = parts[name]
        histogram.record(latency_us)
        if kind < 0:
            unfinished[0] += 1
        else:
            counts.statuses[status] = counts.statuses.get(status, 0) + 1
    walls = {"before": start - measure_ns, "during": stop - start, "after": end_ns - stop}
    return [Phase(name, max(0, walls[name]) / 1e9, counts, Latency.of(histogram), unfinished[0])
            for name, (counts, histogram, unfinished) in parts.items()]


def _report(options: Options, target: Target, prepared: Prepared, result: LoadResult, cycle: CycleState,
            call: FinalizeCall, finalized_by: str, server_ms: float | None, window: tuple[int, int],
            measure_ns: int, end_ns: int, warmup: float, notes: list[str]) -> Report:
    if call.status != 200:
        notes.append(f"manual_reset_leaderboard failed: {call.error}")
    elif finalized_by == "server":
        notes.append("the server finalized the cycle on its own before the bench's call; "
                     "the finalize time is its system_metrics.last_reset")
    reply = call.reply
    details = {
        "cycle": {"cycle": cycle.cycle, "records": cycle.total},
        "finalize": {
            "cycle": cycle.cycle, "status": call.status, "finalized_by": finalized_by,
            "duration_ms": server_ms, "call_ms": round(call.call_ms, 1),
            "already_finalized": reply.get("already_finalized"),
            "rewarded": len(reply.get("rewarded") or []) if call.status == 200 else None,
            "window_s": [round((window[0] - measure_ns) / 1e9, 3), round((window[1] - measure_ns) / 1e9, 3)],
            "error": call.error,
        },
    }
    if not result.samples and result.requests == 0:
        raise BenchError("the load answered no request during the run")
    report = Report(
        scenario=options.scenario.name, url=target.url, mode="open" if options.open_loop else "closed",
        connections=options.connections, rate=options.rate, warmup_s=warmup, duration_s=(end_ns - measure_ns) / 1e9,
        result=result, label=options.label, setup=prepared.setup, details=details, notes=notes)
    report.phases = split_phases(result.samples or [], measure_ns, end_ns, window)
    return report
