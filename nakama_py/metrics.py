"""Prometheus metrics: the registry and the measurement points.

Every HTTP request is measured in one place (the wire middleware, through the
route's ``Meter``) and every RPC in another (the RPC dispatcher, through the RPC
id's ``Meter``); meters hand their counts to prometheus-client in batches. Runtime modules add their own
metrics through ``nk.metrics_counter_add``/``gauge_set``/``timer_record``, which
land here as ``<prefix>_<custom_prefix>_<name>``.

With several server processes, each process writes its values to files in a
shared directory (prometheus-client's multiprocess mode) and the supervisor
serves the sum on ``metrics.prometheus_port``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import threading
import time
from bisect import bisect_left
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client import multiprocess as prom_multiprocess

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TICK_LATENESS_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
_NAME_OK = re.compile(r"[^a-zA-Z0-9_]")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Pauses and stalls: what a request's tail latency is made of besides its own work.
PAUSE_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


_pid = os.getpid()


def _refresh_pid() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_refresh_pid)


def _current_pid() -> int:
    return _pid


def enable_multiprocess(directory: Path) -> None:
    """Switch this process to multiprocess values; call before any metric is created."""
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    # Every value update asks for the process id (to notice a fork); os.getpid() is a system call, about
    # a tenth of a worker's CPU under load with ~10 updates a request. The id kept per fork is the same answer.
    values.ValueClass = values.MultiProcessValue(process_identifier=_current_pid)  # type: ignore[no-untyped-call]


def clear_multiprocess_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)


def mark_process_dead(pid: int) -> None:
    if os.environ.get(MULTIPROC_ENV):
        prom_multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def multiprocess_exposition() -> bytes:
    registry = CollectorRegistry()
    prom_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def _sanitize(name: str) -> str:
    return _NAME_OK.sub("_", name)


FLUSH_DELAY_SEC = 0.1  # how stale a meter's figures in prometheus-client may be (never at an exposition)


class _MeterFlusher:
    """Hands the meters' counts to prometheus-client ``FLUSH_DELAY_SEC`` after the first unflushed update,
    on the event loop that made it (the meters are only updated there), or at once without a loop."""

    __slots__ = ("dirty", "scheduled")

    def __init__(self) -> None:
        self.dirty: list[Meter] = []
        self.scheduled = False

    def mark(self, meter: Meter) -> None:
        self.dirty.append(meter)
        if not self.scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self.scheduled = True
            loop.call_later(FLUSH_DELAY_SEC, self.flush)

    def flush(self) -> None:
        self.scheduled = False
        dirty, self.dirty = self.dirty, []
        for meter in dirty:
            meter.flush()


class Meter:
    """The figures of one route (or one RPC id): requests by code, in flight and latency.

    A request adds to plain Python numbers here (about 1 µs); ``flush`` hands them to prometheus-client
    at most ``FLUSH_DELAY_SEC`` later and before every exposition. prometheus-client takes a lock for
    each update and, with several workers, writes a memory-mapped file: done per update, its ten updates
    on an RPC's path were a tenth of a trivial request's CPU (docs/performance.md).
    """

    __slots__ = ("_buckets", "_by_code", "_codes", "_dirty", "_flusher", "_in_flight", "_sum", "bounds",
                 "in_flight", "latency", "prefix", "requests")

    def __init__(self, requests: Any, in_flight: Any, latency: Any, prefix: tuple[str, ...],
                 flusher: _MeterFlusher) -> None:
        self.requests = requests  # the counter family: its child per code is made on first use
        self.prefix = prefix  # the labels before the code
        self.in_flight = in_flight
        self.latency = latency
        # The histogram's own bounds (the last is +Inf): bisect_left finds the bucket ``observe`` would
        # (the first bound the value is <= to).
        self.bounds: tuple[float, ...] = tuple(latency._upper_bounds)
        self._by_code: dict[int, Any] = {}
        self._flusher = flusher
        self._dirty = False
        self._in_flight = 0
        self._codes: dict[int, int] = {}
        self._buckets = [0] * len(self.bounds)
        self._sum = 0.0

    def started(self) -> None:
        self._in_flight += 1
        if not self._dirty:
            self._dirty = True
            self._flusher.mark(self)

    def finished(self, code: int, seconds: float) -> None:
        self._in_flight -= 1
        codes = self._codes
        codes[code] = codes.get(code, 0) + 1
        self._buckets[bisect_left(self.bounds, seconds)] += 1
        self._sum += seconds
        if not self._dirty:
            self._dirty = True
            self._flusher.mark(self)

    def flush(self) -> None:
        self._dirty = False
        if self._in_flight:
            self.in_flight.inc(self._in_flight)
            self._in_flight = 0
        if not self._codes:
            return
        for code, count in self._codes.items():
            counter = self._by_code.get(code)
            if counter is None:
                counter = self._by_code[code] = self.requests.labels(*self.prefix, str(code))
            counter.inc(count)
        self._codes.clear()
        # What ``observe`` does per value, once per bucket (prometheus-client has no public call for it).
        latency, buckets = self.latency, self._buckets
        for index, count in enumerate(buckets):
            if count:
                latency._buckets[index].inc(count)
                buckets[index] = 0
        latency._sum.inc(self._sum)
        self._sum = 0.0


class Metrics:
    def __init__(self, prefix: str = "nakama", custom_prefix: str = "custom") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.prefix = _sanitize(prefix) if prefix else "nakama"
        self.custom_prefix = _sanitize(custom_prefix) if custom_prefix else "custom"
        p = self.prefix
        reg = self.registry
        self.api_requests = Counter(f"{p}_api_requests", "HTTP API requests by route, method and gRPC code.",
                                    ["route", "method", "code"], registry=reg)
        self.api_latency = Histogram(f"{p}_api_request_duration_seconds", "HTTP API request latency.",
                                     ["route", "method"], buckets=LATENCY_BUCKETS, registry=reg)
        self.api_in_flight = Gauge(f"{p}_api_requests_in_flight", "HTTP API requests being served.",
                                   ["route"], registry=reg, multiprocess_mode="livesum")
        self.rpc_requests = Counter(f"{p}_rpc_requests", "RPC calls by id and gRPC code.",
                                    ["id", "code"], registry=reg)
        self.rpc_latency = Histogram(f"{p}_rpc_duration_seconds", "RPC function latency.",
                                     ["id"], buckets=LATENCY_BUCKETS, registry=reg)
        self.rpc_in_flight = Gauge(f"{p}_rpc_in_flight", "RPC calls being served.", ["id"], registry=reg,
                                   multiprocess_mode="livesum")
        # Read replicas as this process sees them (every process checks them itself).
        self.replica_in_rotation = Gauge(f"{p}_db_replica_in_rotation", "1 while a read replica serves reads.",
                                         ["replica"], registry=reg, multiprocess_mode="min")
        self.replica_lag = Gauge(f"{p}_db_replica_lag_seconds", "How far a read replica is behind the primary.",
                                 ["replica"], registry=reg, multiprocess_mode="max")
        self.cluster_processes = Gauge(f"{p}_cluster_processes",
                                       "Server processes of the cluster seen alive, this one included.",
                                       registry=reg, multiprocess_mode="livemax")
        self.own_read_proofs = Counter(
            f"{p}_cluster_own_reads", "A player's standing read with another node alive, by how their writes there "
            "were proven applied (core/node_sync.py): at_once (acks already held), bus (after a want's acks) or "
            "primary.", ["proof"], registry=reg)
        # Authoritative matches (core/matches): how many run here, how late their ticks start.
        self.matches = Gauge(f"{p}_authoritative_matches", "Authoritative matches running on this process.",
                             registry=reg, multiprocess_mode="livesum")
        self.match_tick_lateness = Histogram(f"{p}_match_tick_lateness_seconds",
                                             "How late each authoritative match tick started.",
                                             buckets=TICK_LATENESS_BUCKETS, registry=reg)
        # Overload and faults (wire/admission.py, loop_watch.py): what a process refused or cut, how
        # long its event loop was held, and what it holds (flat in a soak, growing in a leak).
        self.api_shed = Counter(f"{p}_api_requests_shed", "HTTP requests refused past socket.max_inflight_requests.",
                                registry=reg)
        self.api_inflight_limit = Gauge(f"{p}_api_inflight_limit", "The in-flight bound past which requests are shed.",
                                        registry=reg, multiprocess_mode="livesum")
        self.api_deadline = Counter(f"{p}_api_requests_deadline_exceeded",
                                    "HTTP requests cancelled at socket.request_timeout_ms.", registry=reg)
        self.loop_lag = Histogram(f"{p}_event_loop_lag_seconds", "How late the event loop ran a timer (sampled).",
                                  buckets=LATENCY_BUCKETS, registry=reg)
        self.loop_stalls = Counter(f"{p}_event_loop_stalls", "Event loop held past the stall threshold, by RPC.",
                                   ["rpc"], registry=reg)
        self.process_rss = Gauge(f"{p}_process_resident_memory_bytes", "Resident memory of the server processes.",
                                 registry=reg, multiprocess_mode="livesum")
        self.process_fds = Gauge(f"{p}_process_open_fds", "Open file descriptors of the server processes.",
                                 registry=reg, multiprocess_mode="livesum")
        self.asyncio_tasks = Gauge(f"{p}_asyncio_tasks", "asyncio tasks alive in the server processes.",
                                   registry=reg, multiprocess_mode="livesum")
        self.db_connections = Gauge(f"{p}_db_pool_connections", "Database connections held by the pools.",
                                    registry=reg, multiprocess_mode="livesum")
        self.db_waiting = Gauge(f"{p}_db_pool_waiting", "Requests waiting for a database connection.",
                                registry=reg, multiprocess_mode="livesum")
        self._children: dict[tuple[Any, ...], Any] = {}
        self._routes: dict[tuple[str, str], Meter] = {}
        self._rpcs: dict[str, Meter] = {}
        self._flusher = _MeterFlusher()
        self._custom: dict[tuple[str, str, tuple[str, ...]], Any] = {}
        self._lock = threading.Lock()
        self.gc_pauses = Histogram(f"{p}_gc_pause_seconds", "Garbage collector pauses, by generation.",
                                   ["generation"], buckets=PAUSE_BUCKETS, registry=reg)
        self._gc_started = 0.0

    # --- the measurement points --------------------------------------------

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = metric.labels(*labels)
            self._children[key] = child
        return child

    def watch_gc(self) -> None:
        """Time every collection (gc.callbacks); once per process."""
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def unwatch_gc(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            self._child(self.gc_pauses, str(info.get("generation", -1))).observe(
                time.perf_counter() - self._gc_started)
            self._gc_started = 0.0

    def replica_seen(self, replica: str, in_rotation: bool, lag_sec: float) -> None:
        self._child(self.replica_in_rotation, replica).set(1 if in_rotation else 0)
        self._child(self.replica_lag, replica).set(lag_sec if lag_sec != float("inf") else -1)

    def route(self, route: str, method: str) -> Meter:
        """The meter of an HTTP route and method (the wire middleware's measurement point)."""
        meter = self._routes.get((route, method))
        if meter is None:
            meter = self._routes[(route, method)] = Meter(
                self.api_requests, self._child(self.api_in_flight, route),
                self._child(self.api_latency, route, method), (route, method), self._flusher)
        return meter

    def rpc(self, rpc_id: str) -> Meter:
        """The meter of an RPC id (the RPC dispatcher's measurement point)."""
        meter = self._rpcs.get(rpc_id)
        if meter is None:
            meter = self._rpcs[rpc_id] = Meter(self.rpc_requests, self._child(self.rpc_in_flight, rpc_id),
                                               self._child(self.rpc_latency, rpc_id), (rpc_id,), self._flusher)
        return meter

    def request_shed(self) -> None:
        self.api_shed.inc()

    def request_timed_out(self) -> None:
        self.api_deadline.inc()

    def cluster_seen(self, processes: int) -> None:
        self.cluster_processes.set(processes)

    def own_reads(self, at_once: int, by_bus: int, by_primary: int) -> None:
        if at_once:
            self._child(self.own_read_proofs, "at_once").inc(at_once)
        if by_bus:
            self._child(self.own_read_proofs, "bus").inc(by_bus)
        if by_primary:
            self._child(self.own_read_proofs, "primary").inc(by_primary)

    def match_count(self, count: int) -> None:
        self.matches.set(count)

    def match_tick_late(self, seconds: float) -> None:
        self.match_tick_lateness.observe(seconds)

    # --- custom metrics for runtime modules -------------------------------

    def custom_name(self, name: str) -> str:
        return f"{self.prefix}_{self.custom_prefix}_{_sanitize(name)}"

    def _custom_metric(self, kind: str, name: str, labels: tuple[str, ...]) -> Any:
        key = (kind, name, labels)
        metric = self._custom.get(key)
        if metric is not None:
            return metric
        with self._lock:
            metric = self._custom.get(key)
            if metric is None:
                full = self.custom_name(name)
                doc = f"Runtime metric {name}."
                if kind == "counter":
                    metric = Counter(full, doc, list(labels), registry=self.registry)
                elif kind == "gauge":
                    metric = Gauge(full, doc, list(labels), registry=self.registry, multiprocess_mode="max")
                else:
                    metric = Histogram(full, doc, list(labels), buckets=LATENCY_BUCKETS, registry=self.registry)
                self._custom[key] = metric
        return metric

    def _labelled(self, kind: str, name: str, tags: Mapping[str, str] | None) -> Any:
        tags = tags or {}
        labels = tuple(sorted(_sanitize(k) for k in tags))
        metric = self._custom_metric(kind, name, labels)
        if not labels:
            return metric
        by_label = {_sanitize(k): str(v) for k, v in tags.items()}
        return metric.labels(*(by_label[label] for label in labels))

    def counter_add(self, name: str, tags: Mapping[str, str] | None = None, delta: float = 1) -> None:
        self._labelled("counter", name, tags).inc(delta)

    def gauge_set(self, name: str, tags: Mapping[str, str] | None = None, value: float = 0) -> None:
        self._labelled("gauge", name, tags).set(value)

    def timer_record(self, name: str, tags: Mapping[str, str] | None = None, seconds: float = 0) -> None:
        self._labelled("histogram", name, tags).observe(seconds)

    def request_summary(self) -> dict[str, dict[str, Any]]:
        """Per route (and per RPC id) of this process: requests, errors (non-zero codes), mean latency in ms."""
        totals: dict[str, dict[str, float]] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                labels = sample.labels
                route = labels.get("route") or (f"rpc {labels['id']}" if "id" in labels else "")
                if not route:
                    continue
                entry = totals.setdefault(route, {"count": 0.0, "seconds": 0.0, "errors": 0.0})
                if sample.name.endswith(("_api_requests_total", "_rpc_requests_total")):
                    entry["count"] += sample.value
                    if labels.get("code", "0") != "0":
                        entry["errors"] += sample.value
                elif sample.name.endswith("_duration_seconds_sum"):
                    entry["seconds"] += sample.value
        return {route: {"count": int(v["count"]), "errors": int(v["errors"]),
                        "mean_ms": round(1000 * v["seconds"] / v["count"], 2) if v["count"] else 0.0}
                for route, v in sorted(totals.items())}

    def custom_counts(self, name: str) -> dict[str, float]:
        """A runtime module's counter in this process, by its labels ("reason=duplicate"; "" without labels)."""
        full = self.custom_name(name) + "_total"
        values: dict[str, float] = {}
        for family in self.registry.collect():
            for sample in family.samples:
                if sample.name == full:
                    values[",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))] = sample.value
        return values

    def flush(self) -> None:
        """Hand every meter's unflushed counts to prometheus-client now (before reading its values)."""
        self._flusher.flush()

    def exposition(self) -> bytes:
        self.flush()
        if os.environ.get(MULTIPROC_ENV):
            return multiprocess_exposition()
        return generate_latest(self.registry)
