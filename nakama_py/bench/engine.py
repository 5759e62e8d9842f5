"""The pure-Python engine: spreads connections (and an open loop's rate) over worker
processes, starts them together, ends them together, and merges what they measured.
"""

from __future__ import annotations

import multiprocessing
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from nakama_py.bench import worker
from nakama_py.bench.histogram import Histogram
from nakama_py.bench.results import Breakdown, Counts, GeneratorCpu, Latency, LoadResult, merge_histograms
from nakama_py.bench.target import Target
from nakama_py.bench.traffic import TrafficSpec
from nakama_py.bench.users import UserSession
from nakama_py.bench.worker import WorkerResult, WorkerSpec, worker_main

READY_TIMEOUT_S = 60.0
START_DELAY_NS = 150_000_000  # time for the start message to reach every worker


class EngineError(Exception):
    pass


@dataclass(frozen=True)
class LoadPlan:
    target: Target
    traffic: TrafficSpec
    sessions: Sequence[UserSession]
    connections: int
    rate: float  # requests per second for an open loop; 0 for a closed loop
    processes: int
    warmup_s: float
    duration_s: float | None  # None: until ``RunningLoad.end`` is called
    timeout_s: float = 10.0
    keep_samples: bool = False


def split(total: int, parts: int) -> list[int]:
    """``total`` spread as evenly as possible over ``parts``."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class RunningLoad:
    """Worker processes under way. Use as a context manager: leaving it stops them."""

    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.processes: list[BaseProcess] = []
        self.pipes: list[Connection] = []
        self.t0 = 0
        self.measure_ns = 0
        self.end_ns = 0
        self._cpu_at_start = 0.0

    def __enter__(self) -> RunningLoad:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self, t0_ns: int | None = None) -> None:
        """Starts the workers; the load begins at ``t0_ns`` (monotonic) or as soon as all are ready."""
        plan = self.plan
        workers = max(1, min(plan.processes, plan.connections))
        context = multiprocessing.get_context("spawn")  # no inherited event loop or sockets
        interval_ns = int(1e9 / plan.rate) if plan.rate > 0 else 0
        for index, connections in enumerate(split(plan.connections, workers)):
            sessions = list(plan.sessions[index::workers]) or list(plan.sessions)
            spec = WorkerSpec(
                index=index, host=plan.target.host, port=plan.target.port, connections=connections,
                rate=plan.rate * connections / plan.connections if plan.rate > 0 else 0.0,
                phase_ns=interval_ns * index,
                traffic=plan.traffic.for_worker(index, tuple(s.token for s in sessions)),
                refresh_tokens=tuple(s.refresh_token for s in sessions),
                timeout_s=plan.timeout_s, keep_samples=plan.keep_samples,
                refresh_margin_s=worker.REFRESH_MARGIN_S)
            parent_end, child_end = context.Pipe()
            process = context.Process(target=worker_main, args=(spec, child_end), daemon=True,
                                      name=f"nakama-py-bench-{index}")
            process.start()
            child_end.close()
            self.processes.append(process)
            self.pipes.append(parent_end)
        for message in self._gather(READY_TIMEOUT_S):
            if message[0] != "ready":
                raise EngineError(f"load generator: {message[1]}")
        self.t0 = max(t0_ns or 0, time.monotonic_ns() + START_DELAY_NS)
        self.measure_ns = self.t0 + int(plan.warmup_s * 1e9)
        self.end_ns = self.measure_ns + int(plan.duration_s * 1e9) if plan.duration_s is not None else 0
        self._cpu_at_start = time.process_time()
        for pipe in self.pipes:
            pipe.send(("start", self.t0, self.measure_ns, self.end_ns))

    def end(self, at_ns: int | None = None) -> None:
        """Ends the measured window at ``at_ns`` (now by default), for runs without a fixed duration."""
        self.end_ns = at_ns or time.monotonic_ns()
        for pipe in self.pipes:
            pipe.send(("end", self.end_ns))

    def collect(self) -> LoadResult:
        """Waits for the window to close and merges the workers' results."""
        wait_s = max(0.0, (self.end_ns - time.monotonic_ns()) / 1e9) + self.plan.timeout_s + 30
        results: list[WorkerResult] = []
        for message in self._gather(wait_s):
            if message[0] != "result":
                raise EngineError(f"load generator: {message[1]}")
            results.append(message[1])
        parent_cpu = time.process_time() - self._cpu_at_start
        for process in self.processes:
            process.join(10)
        return merge(results, parent_cpu)

    def stop(self) -> None:
        for pipe in self.pipes:
            pipe.close()
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join(5)
        self.pipes = []
        self.processes = []

    def _gather(self, timeout_s: float) -> list[tuple[str, Any]]:
        """One message from every worker, in worker order."""
        deadline = time.monotonic() + timeout_s
        messages: dict[int, tuple[str, Any]] = {}
        waiting = {pipe: i for i, pipe in enumerate(self.pipes)}
        while waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EngineError(f"load generator: {len(waiting)} worker(s) did not answer within {timeout_s:.0f}s")
            ready = wait(list(waiting), remaining)
            for pipe in ready:
                assert isinstance(pipe, Connection)
                index = waiting.pop(pipe)
                try:
                    messages[index] = pipe.recv()
                except EOFError:
                    code = self.processes[index].exitcode
                    raise EngineError(f"load generator: worker {index} exited (code {code})") from None
        return [messages[i] for i in range(len(self.pipes))]


def run_load(plan: LoadPlan, opens_in: Callable[[float], None] | None = None) -> LoadResult:
    """A run of fixed duration, start to end; ``opens_in`` is told how many seconds from now the
    measured window opens."""
    with RunningLoad(plan) as load:
        load.start()
        if opens_in is not None:
            opens_in(max(0.0, (load.measure_ns - time.monotonic_ns()) / 1e9))
        return load.collect()


def merge(results: Sequence[WorkerResult], parent_cpu_s: float) -> LoadResult:
    kinds: list[str] = list(results[0]["kinds"])
    histograms = [Histogram() for _ in kinds]
    per_kind = [Counts() for _ in kinds]
    counts = Counts()
    unfinished = Histogram()
    accepted_wire = Histogram()
    samples: list[tuple[int, int, int, int]] | None = None
    cpu_s = parent_cpu_s
    busiest = 0.0
    wall = max(r["wall_s"] for r in results)
    for result in results:
        for i, data in enumerate(result["histograms"]):
            histograms[i].merge(Histogram.from_data(data))
        for i, statuses in enumerate(result["statuses"]):
            per_kind[i].add_statuses(statuses)
            counts.add_statuses(statuses)
        counts.add_socket_errors(result["socket_errors"])
        unfinished.merge(Histogram.from_data(result["unfinished_histogram"]))
        accepted_wire.merge(Histogram.from_data(result["accepted_wire_histogram"]))
        cpu_s += result["cpu_s"]
        if result["wall_s"] > 0:
            busiest = max(busiest, result["cpu_s"] / result["wall_s"])
        if result["samples"] is not None:
            samples = (samples or []) + _unpack(result["samples"])
    overall = merge_histograms([*histograms, unfinished])
    breakdown = {}
    if len(kinds) > 1:
        breakdown = {kind: Breakdown(per_kind[i], Latency.of(histograms[i]),
                                     per_kind[i].answered / wall if wall else 0.0) for i, kind in enumerate(kinds)}
    return LoadResult(
        engine="python", wall_s=wall, counts=counts, latency=Latency.of(overall),
        cpu=GeneratorCpu(cpu_s, wall, len(results), busiest), kinds=breakdown,
        unfinished=sum(r["unfinished"] for r in results), max_pending=max(r["max_pending"] for r in results),
        histogram=overall, samples=sorted(samples) if samples is not None else None,
        accepted_wire=accepted_wire if accepted_wire.count else None)


def _unpack(parts: list[bytes]) -> list[tuple[int, int, int, int]]:
    starts, latencies, kinds, statuses = array("q"), array("q"), array("b"), array("h")
    for column, raw in zip((starts, latencies, kinds, statuses), parts, strict=True):
        column.frombytes(raw)
    return list(zip(starts, latencies, kinds, statuses, strict=True))
