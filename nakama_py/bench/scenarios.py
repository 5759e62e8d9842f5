"""Runs a scenario: untimed setup (users, prefill, fresh tokens), the timed load on the
chosen engine, and the report. reset-under-load has its own timeline in ``reset``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nakama_py.bench import server_metrics, server_probe
from nakama_py.bench.admission import shedding
from nakama_py.bench.cycle import CycleState, fill_cycle
from nakama_py.bench.engine import LoadPlan, run_load
from nakama_py.bench.mid_call import MidCall
from nakama_py.bench.nodes import NodeWatch
from nakama_py.bench.options import Options
from nakama_py.bench.pool import HttpPool
from nakama_py.bench.report import Report
from nakama_py.bench.results import LoadResult
from nakama_py.bench.server_sampler import ServerSampler
from nakama_py.bench.target import Target
from nakama_py.bench.traffic import TrafficSpec
from nakama_py.bench.users import (
    UserSession,
    custom_ids,
    refresh_expiring,
    sign_in,
    token_lifetime,
)
from nakama_py.bench.wrk import WrkPlan, find_wrk, run_wrk

Log = Callable[[str], None]

TOKEN_MARGIN_S = 30.0  # tokens must outlive the run by this much
CYCLE_MARGIN_S = 5.0  # a filled cycle must outlive the run by this much


class BenchError(Exception):
    """The run cannot be made as asked; the message says why."""


@dataclass
class Prepared:
    target: Target
    traffic: TrafficSpec
    sessions: list[UserSession]  # every signed-in user (fill users first)
    users: list[UserSession]  # the ones sending the load
    token_lifetime_s: int = 0
    cycle: CycleState | None = None
    setup: dict[str, Any] = field(default_factory=dict)


def traffic_for(options: Options, target: Target) -> TrafficSpec:
    return TrafficSpec(
        shape=options.scenario.shape, host_header=target.host_header, server_key=target.server_key,
        http_key=target.http_key, rpc=options.rpc, payload=options.payload, rpc_auth=options.rpc_auth,
        read_limit=options.limit, unique_prefix=f"{options.user_prefix}-{secrets.token_hex(4)}",
        seed=secrets.randbits(32))


async def prepare(options: Options, target: Target, *, cycle_must_last_s: float, log: Log) -> Prepared:
    """Everything before the timed window: sign users in, fill the cycle, refresh tokens."""
    started = time.monotonic()
    traffic = traffic_for(options, target)
    prefill = options.scenario.prefill
    wanted = max(options.users, options.records) if prefill else (options.users if traffic.needs_tokens else 0)
    prepared = Prepared(target, traffic, [], [])
    async with HttpPool(target) as pool:
        if wanted:
            log(f"signing in {wanted} users ({options.user_prefix}-0 ...)")
            signed = time.monotonic()
            prepared.sessions = await sign_in(pool, custom_ids(options.user_prefix, wanted))
            prepared.setup["users_signed_in"] = wanted
            prepared.setup["sign_in_s"] = round(time.monotonic() - signed, 2)
            prepared.token_lifetime_s = token_lifetime(prepared.sessions[0].token)
        if prefill:
            prepared.cycle = await fill_cycle(pool, prepared.sessions, options.records, must_last_s=cycle_must_last_s,
                                              key_prefix=traffic.unique_prefix, log=log)
        if prepared.sessions:
            valid_until = time.time() + options.warmup_s + options.duration_s + TOKEN_MARGIN_S
            prepared.sessions = await refresh_expiring(pool, prepared.sessions, valid_until)
    prepared.users = prepared.sessions[:options.users] if traffic.needs_tokens else []
    prepared.setup["setup_s"] = round(time.monotonic() - started, 2)
    return prepared


def choose_engine(options: Options, prepared: Prepared) -> tuple[str, str]:
    """The engine, and why when it is not the one asked for or the usual one."""
    if options.engine == "python":
        return "python", ""
    reason = ""
    if options.open_loop:
        reason = "wrk cannot hold a constant rate (open loop)"
    elif options.scenario.name == "reset-under-load":
        reason = "reset-under-load needs each request's timing"
    elif options.report:
        reason = "--report needs each request's timing"
    elif len(prepared.traffic.kinds) > 1 and options.engine == "auto":
        reason = "a mixed scenario is reported per request kind, which wrk cannot do"
    elif find_wrk() is None:
        reason = "wrk is not installed"
    elif prepared.users and prepared.token_lifetime_s and \
            prepared.token_lifetime_s < options.duration_s + TOKEN_MARGIN_S:
        reason = (f"session tokens live {prepared.token_lifetime_s}s, less than the run, "
                  "and wrk cannot refresh them during it")
    if reason and options.engine == "wrk":
        raise BenchError(f"--engine wrk: {reason}")
    return ("python", f"Python engine: {reason}") if reason else ("wrk", "")


def run_timed(options: Options, prepared: Prepared, engine: str,
              opens_in: Callable[[float], None] | None = None) -> LoadResult:
    """The timed load; ``opens_in`` is told how many seconds from now the measured window opens."""
    if engine == "wrk":
        if opens_in is not None:  # wrk's measured run follows its warm-up run
            opens_in(options.warmup_s)
        def fresh_tokens() -> Sequence[str]:
            # Between wrk's warm-up and measured runs, outside both.
            return [s.token for s in asyncio.run(_refresh(prepared, prepared.users, options.duration_s))]

        plan = WrkPlan(prepared.target, prepared.traffic, [s.token for s in prepared.users], options.connections,
                       options.processes, options.warmup_s, options.duration_s, options.timeout_s)
        return run_wrk(plan, fresh_tokens if prepared.users else None)
    # An open loop keeps each request's timing: the accepted requests' latency is reported apart.
    return run_load(LoadPlan(prepared.target, prepared.traffic, prepared.users, options.connections,
                             options.rate or 0.0, options.processes, options.warmup_s, options.duration_s,
                             options.timeout_s, keep_samples=bool(options.report) or options.open_loop),
                    opens_in)


async def _refresh(prepared: Prepared, sessions: Sequence[UserSession], run_s: float) -> list[UserSession]:
    async with HttpPool(prepared.target) as pool:
        return await refresh_expiring(pool, sessions, time.time() + run_s + TOKEN_MARGIN_S)


class ServerWatch:
    """The server's memory and CPU over the measured window, when its processes are visible
    (bench/server_probe.py), and with ``--metrics-url`` what its tails are made of
    (bench/server_metrics.py): sampled when the warm-up should end, and after the run."""

    def __init__(self, options: Options, target: Target) -> None:
        self.pids = (server_probe.server_tree(options.server_pid) if options.server_pid
                     else server_probe.find_server(target.host, target.port))
        self.metrics_url = options.metrics_url
        self.warmup_s = options.warmup_s
        self.first: server_probe.Sample | None = None
        self.first_metrics: dict[str, server_metrics.Histogram] | None = None
        self.timer: threading.Timer | None = None
        self.at = 0.0

    def start(self) -> None:
        if self.pids or self.metrics_url:
            self.timer = threading.Timer(self.warmup_s, self._mark)
            self.timer.start()

    def _mark(self) -> None:
        self.at = time.monotonic()
        if self.pids:
            self.first = server_probe.sample(self.pids)
        if self.metrics_url:
            try:
                self.first_metrics = server_metrics.scrape(self.metrics_url)
            except OSError:
                self.first_metrics = None

    def finish(self, requests: int) -> dict[str, Any]:
        if self.timer is None:
            return {}
        self.timer.cancel()
        window = max(time.monotonic() - self.at, 1e-9)
        found: dict[str, Any] = {}
        if self.first is not None:
            last = server_probe.sample(self.pids)
            cpu = last.cpu_s - self.first.cpu_s
            found["server"] = {
                "processes": len(self.pids), "rss_mib": round(last.rss_kib / 1024, 1),
                "pss_mib": round(last.pss_kib / 1024, 1) if last.pss_kib else None,
                "cpu_cores": round(cpu / window, 2),
                "cpu_us_per_request": round(1e6 * cpu / requests) if requests else None}
        if self.first_metrics is not None:
            with contextlib.suppress(OSError):
                found.update(server_metrics.breakdown(self.first_metrics, server_metrics.scrape(self.metrics_url),
                                                      window))
        return found


def run_scenario(options: Options, log: Log) -> Report:
    target = Target.from_url(options.url, options.server_key, options.http_key)
    if options.scenario.name == "reset-under-load":
        from nakama_py.bench.reset import run_reset_under_load

        return run_reset_under_load(options, target, log)
    must_last = options.warmup_s + options.duration_s + CYCLE_MARGIN_S
    prepared = asyncio.run(prepare(options, target, cycle_must_last_s=must_last, log=log))
    engine, note = choose_engine(options, prepared)
    log(f"running {options.scenario.name}: warm-up {options.warmup_s:g}s, measured {options.duration_s:g}s ({engine})")
    server_watch = ServerWatch(options, target)
    sampler = ServerSampler(options.sample_every_s, server_pid=options.server_pid, metrics_url=options.metrics_url,
                            log=log) if options.sample_every_s > 0 else None
    nodes = NodeWatch(options.node_metrics) if options.node_metrics else None
    mid = MidCall(target, options.mid_rpc, options.duration_s) if options.mid_rpc else None

    def opens_in(delay_s: float) -> None:
        for hook in (nodes, mid):
            if hook is not None:
                hook.open_in(delay_s)

    server_watch.start()
    with sampler if sampler is not None else contextlib.nullcontext():
        result = run_timed(options, prepared, engine, opens_in)
    server = server_watch.finish(result.counts.answered)
    report = Report(
        scenario=options.scenario.name, url=target.url, mode="open" if options.open_loop else "closed",
        connections=options.connections, rate=options.rate, warmup_s=options.warmup_s,
        duration_s=options.duration_s, result=result, label=options.label, setup=prepared.setup,
        notes=[note] if note else [])
    if prepared.cycle is not None:
        report.details["cycle"] = {"cycle": prepared.cycle.cycle, "records": prepared.cycle.total,
                                   "read_limit": options.limit}
    report.details.update(server)
    if options.open_loop and result.samples is not None:
        report.details["admission"] = shedding(result.samples, result.accepted_wire, result.max_pending)
    if sampler is not None:
        report.details["server_samples"] = sampler.samples
    if nodes is not None:
        report.details["nodes"] = nodes.close()
    if mid is not None:
        report.details["mid_rpc"] = mid.close()
    if options.scenario.name == "echo":
        report.details["rpc"] = {"id": options.rpc, "auth": options.rpc_auth}
    return report
