"""One load-generator process of the pure-Python engine: keep-alive connections on asyncio
Protocols (uvloop when installed), one request in flight per connection.

Closed loop: each connection sends its next request as soon as the previous answer arrives.
Open loop: requests are due at a fixed rate whatever the server does; a due request waits
for a free connection, and its latency counts from when it was due, so a stalled server
shows up in the figures instead of slowing the generator down (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import os
import time
from array import array
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import orjson

from nakama_py.bench.histogram import Histogram, HistogramData
from nakama_py.bench.http1 import ProtocolError, ResponseParser, basic_auth, build_request
from nakama_py.bench.pool import HttpPool, RequestFailed
from nakama_py.bench.target import Target
from nakama_py.bench.traffic import RequestSource, TrafficSpec, build_source
from nakama_py.bench.users import token_expiry

NEVER = 1 << 62
RECONNECT_DELAY_S = 0.05
TIMEOUT_CHECK_S = 0.1
TICK_S = 0.001
DRAIN_S = 1.0  # after the end, how long answers still in flight may take before their connection is cut
REFRESH_MARGIN_S = 20.0  # refresh a token this long before it expires
REFRESH_RETRY_S = 5.0


@dataclass(frozen=True)
class WorkerSpec:
    index: int
    host: str
    port: int
    connections: int
    rate: float  # this worker's requests per second; 0 for a closed loop
    phase_ns: int  # open loop: offset of this worker's schedule, so workers do not fire in step
    traffic: TrafficSpec
    refresh_tokens: tuple[str, ...]  # same order as traffic.tokens
    timeout_s: float
    keep_samples: bool  # keep each request's start and latency (for phase reports)
    refresh_margin_s: float = REFRESH_MARGIN_S


# Plain data a worker sends back to the parent: see ``LoadWorker.result``.
WorkerResult = dict[str, Any]


class _Conn(asyncio.Protocol):
    __slots__ = ("busy", "closing", "kind", "parser", "sent_ns", "start_ns", "timed_out", "transport", "worker")

    def __init__(self, worker: LoadWorker) -> None:
        self.worker = worker
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser(self._on_response)
        self.busy = False
        self.closing = False
        self.timed_out = False
        self.kind = 0
        self.start_ns = 0  # latency counts from here (the due time in an open loop)
        self.sent_ns = 0  # when the bytes were written (for the timeout)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are duck-typed

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed(data)
        except ProtocolError:
            self.worker.count_socket_error(self, "protocol")
            self.busy = False  # counted once, not again as a lost connection
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.parser.connection_closed()
        self.worker.on_lost(self)

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def _on_response(self, status: int, body: bytes, close: bool) -> None:
        if close:
            self.closing = True
        self.worker.on_response(self, status)
        if close and self.transport is not None:
            self.transport.close()


class LoadWorker:
    def __init__(self, spec: WorkerSpec, source: RequestSource) -> None:
        self.spec = spec
        self.source = source
        self.next_request = source.next_request
        kinds = len(source.kinds)
        self.histograms = [Histogram() for _ in range(kinds)]
        self.statuses: list[dict[int, int]] = [{} for _ in range(kinds)]
        self.socket_errors: dict[str, int] = {}
        self.unfinished = 0
        self.unfinished_histogram = Histogram()  # open loop: due requests unanswered at the end
        # Open loop: accepted (200) answers timed from when their bytes were written, leaving out the
        # wait for a free connection in this generator (the server's share of the latency).
        self.accepted_wire_histogram = Histogram()
        self.max_pending = 0
        self.samples = (array("q"), array("q"), array("b"), array("h")) if spec.keep_samples else None
        self.conns: list[_Conn] = []
        self.free: list[_Conn] = []
        self.pending: deque[int] = deque()
        self.open_loop = spec.rate > 0
        self.interval_ns = 1e9 / spec.rate if self.open_loop else 0.0
        self.t0 = NEVER
        self.measure_ns = NEVER
        self.end_ns = NEVER
        self.next_due = 0
        self.sending = False
        self.finished = False
        self.cpu_at_measure: float | None = None
        self.cpu_at_end = 0.0
        self.done: asyncio.Future[None] | None = None
        self._end_timer: asyncio.TimerHandle | None = None
        self._reconnects: set[asyncio.Task[None]] = set()

    # -- connections -------------------------------------------------------------------------

    async def connect_all(self) -> int:
        results = await asyncio.gather(*(self._open() for _ in range(self.spec.connections)),
                                       return_exceptions=True)
        return sum(1 for ok in results if ok is True)

    async def _open(self) -> bool:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Conn(self), self.spec.host, self.spec.port), self.spec.timeout_s)
        except (OSError, TimeoutError):
            return False
        if self.finished:
            conn.abort()
            return False
        self.conns.append(conn)
        self._idle(conn, time.monotonic_ns())
        return True

    async def _reconnect(self) -> None:
        # At once (a server may close after every answer), then with a pause after each failure.
        while not self.finished:
            if await self._open() or self.finished:
                return
            if time.monotonic_ns() >= self.measure_ns:
                self.socket_errors["connect"] = self.socket_errors.get("connect", 0) + 1
            await asyncio.sleep(RECONNECT_DELAY_S)

    def on_lost(self, conn: _Conn) -> None:
        if conn in self.conns:
            self.conns.remove(conn)
        if conn in self.free:
            self.free.remove(conn)
        if conn.busy and not conn.timed_out and not self.finished:
            self.count_socket_error(conn, "read")
        conn.busy = False
        if self.finished:
            self._resolve_when_closed()
        else:
            task = asyncio.get_running_loop().create_task(self._reconnect())
            self._reconnects.add(task)  # the loop keeps only a weak reference
            task.add_done_callback(self._reconnects.discard)

    def count_socket_error(self, conn: _Conn, kind: str) -> None:
        if conn.busy and self.measure_ns <= conn.start_ns < self.end_ns:
            self.socket_errors[kind] = self.socket_errors.get(kind, 0) + 1

    # -- the hot path ------------------------------------------------------------------------

    def _send(self, conn: _Conn, start_ns: int, now: int) -> None:
        data, kind = self.next_request()
        conn.kind = kind
        conn.start_ns = start_ns
        conn.sent_ns = now
        conn.busy = True
        conn.transport.write(data)  # type: ignore[union-attr]

    def on_response(self, conn: _Conn, status: int) -> None:
        now = time.monotonic_ns()
        conn.busy = False
        start = conn.start_ns
        if self.measure_ns <= start and now <= self.end_ns and not self.finished:
            kind = conn.kind
            latency_us = (now - start) // 1000
            self.histograms[kind].record(latency_us)
            counts = self.statuses[kind]
            counts[status] = counts.get(status, 0) + 1
            if self.samples is not None:
                self._sample(start, latency_us, kind, status)
            if status == 200 and self.open_loop:
                self.accepted_wire_histogram.record((now - conn.sent_ns) // 1000)
        if not conn.closing:
            self._idle(conn, now)

    def _idle(self, conn: _Conn, now: int) -> None:
        if self.finished:
            conn.closing = True
            conn.transport.close()  # type: ignore[union-attr]
        elif not self.sending:
            self.free.append(conn)
        elif self.open_loop:
            if self.pending:
                self._send(conn, self.pending.popleft(), now)
            else:
                self.free.append(conn)
        elif now < self.end_ns:
            self._send(conn, now, now)

    def _tick(self) -> None:
        if self.finished:
            return
        now = time.monotonic_ns()
        limit = min(now, self.end_ns)
        due = self.next_due
        t0, interval = self.t0, self.interval_ns
        at = t0 + int(due * interval)
        free, pending = self.free, self.pending
        while at <= limit:
            if free:
                self._send(free.pop(), at, now)
            else:
                pending.append(at)
            due += 1
            at = t0 + int(due * interval)
        self.next_due = due
        if len(pending) > self.max_pending:
            self.max_pending = len(pending)
        if at < self.end_ns:
            # Event-loop timers have millisecond resolution: a shorter wait would spin.
            delay = max(TICK_S, (at - time.monotonic_ns()) / 1e9)
            asyncio.get_running_loop().call_later(delay, self._tick)

    def _sample(self, start: int, latency_us: int, kind: int, status: int) -> None:
        starts, latencies, kinds, statuses = self.samples  # type: ignore[misc]
        starts.append(start)
        latencies.append(latency_us)
        kinds.append(kind)
        statuses.append(status)

    # -- the run -----------------------------------------------------------------------------

    def start(self, t0: int, measure_ns: int, end_ns: int) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        self.t0 = t0 + self.spec.phase_ns
        self.measure_ns = measure_ns
        self.set_end(end_ns or NEVER)
        loop.call_later(max(0.0, (measure_ns - time.monotonic_ns()) / 1e9), self._mark_measure)
        loop.call_later(max(0.0, (t0 - time.monotonic_ns()) / 1e9), self._begin)
        loop.call_later(TIMEOUT_CHECK_S, self._check_timeouts)
        return self.done

    def set_end(self, end_ns: int) -> None:
        self.end_ns = end_ns
        if self._end_timer is not None:
            self._end_timer.cancel()
        if end_ns < NEVER:
            delay = max(0.0, (end_ns - time.monotonic_ns()) / 1e9)
            self._end_timer = asyncio.get_running_loop().call_later(delay, self._finish)

    def _begin(self) -> None:
        self.sending = True
        if self.open_loop:
            self._tick()
            return
        now = time.monotonic_ns()
        free, self.free = self.free, []
        for conn in free:
            self._send(conn, now, now)

    def _mark_measure(self) -> None:
        self.cpu_at_measure = time.process_time()

    def _check_timeouts(self) -> None:
        if self.finished:
            return
        now = time.monotonic_ns()
        limit = int(self.spec.timeout_s * 1e9)
        for conn in list(self.conns):
            if conn.busy and not conn.timed_out and now - conn.sent_ns > limit:
                self.count_socket_error(conn, "timeout")
                conn.timed_out = True
                conn.abort()
        asyncio.get_running_loop().call_later(TIMEOUT_CHECK_S, self._check_timeouts)

    def _finish(self) -> None:
        if self.finished:
            return
        if self.open_loop and self.sending:
            self._tick()  # everything due up to the end
        self.finished = True
        if self.cpu_at_measure is None:
            self._mark_measure()
        self.cpu_at_end = time.process_time()
        end = self.end_ns
        if self.open_loop:
            # Due but unanswered at the end: at least this late, so they count at that lower bound.
            late = [c.start_ns for c in self.conns if c.busy and not c.timed_out and c.start_ns >= self.measure_ns]
            late += [at for at in self.pending if at >= self.measure_ns]
            for start in late:
                self.unfinished += 1
                self.unfinished_histogram.record((end - start) // 1000)
                if self.samples is not None:
                    self._sample(start, (end - start) // 1000, -1, 0)
        # Idle connections close now; busy ones once their (uncounted) answer arrives, so the
        # server is not left writing to reset sockets; stragglers are cut after DRAIN_S.
        for conn in list(self.conns):
            if not conn.busy:
                conn.closing = True
                conn.transport.close()  # type: ignore[union-attr]
        asyncio.get_running_loop().call_later(DRAIN_S, self._abort_all)
        self._resolve_when_closed()

    def _abort_all(self) -> None:
        for conn in list(self.conns):
            conn.busy = False
            conn.abort()
        self._resolve_when_closed()

    def _resolve_when_closed(self) -> None:
        if not self.conns and self.done is not None and not self.done.done():
            self.done.set_result(None)

    def result(self) -> WorkerResult:
        wall = max(0, self.end_ns - self.measure_ns) / 1e9 if self.end_ns < NEVER else 0.0
        samples = None
        if self.samples is not None:
            samples = [part.tobytes() for part in self.samples]
        data: list[HistogramData] = [h.to_data() for h in self.histograms]
        return dict(
            index=self.spec.index, kinds=list(self.source.kinds), histograms=data,
            statuses=[dict(s) for s in self.statuses], socket_errors=dict(self.socket_errors),
            unfinished=self.unfinished, unfinished_histogram=self.unfinished_histogram.to_data(),
            accepted_wire_histogram=self.accepted_wire_histogram.to_data(),
            max_pending=self.max_pending,
            cpu_s=self.cpu_at_end - (self.cpu_at_measure or self.cpu_at_end), wall_s=wall,
            measure_ns=self.measure_ns, end_ns=self.end_ns, samples=samples,
        )


class TokenKeeper:
    """Refreshes this worker's session tokens before they expire, on its own untimed connection."""

    def __init__(self, worker: LoadWorker, target: Target, tokens: tuple[str, ...],
                 refresh_tokens: tuple[str, ...]) -> None:
        self.worker = worker
        self.target = target
        self.refresh_tokens = list(refresh_tokens)
        self.expiries = [token_expiry(t) for t in tokens]
        self.margin = worker.spec.refresh_margin_s
        self.failures = 0

    async def run(self) -> None:
        if not self.expiries:
            return
        async with HttpPool(self.target, size=2, timeout=self.worker.spec.timeout_s) as pool:
            while not self.worker.finished:
                soonest = min(self.expiries)
                wait = soonest - self.margin - time.time()
                if wait > 0:
                    await asyncio.sleep(min(wait, 1.0))
                    continue
                await self._refresh_due(pool)

    async def _refresh_due(self, pool: HttpPool) -> None:
        deadline = time.time() + self.margin
        auth = {"Authorization": basic_auth(self.target.server_key)}
        for user, expiry in enumerate(self.expiries):
            if expiry > deadline or self.worker.finished:
                continue
            request = build_request("POST", "/v2/account/session/refresh", self.target.host_header, auth,
                                    orjson.dumps({"token": self.refresh_tokens[user]}))
            try:
                response = await pool.request(request)
                data = response.json() if response.status == 200 else None
            except (RequestFailed, ValueError):
                data = None
            if not isinstance(data, dict) or "token" not in data:
                self.failures += 1
                self.expiries[user] = int(time.time() + self.margin + REFRESH_RETRY_S)  # retry later
                continue
            self.worker.source.set_token(user, str(data["token"]))
            self.refresh_tokens[user] = str(data.get("refresh_token", self.refresh_tokens[user]))
            self.expiries[user] = token_expiry(str(data["token"]))


async def _serve(spec: WorkerSpec, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    worker = LoadWorker(spec, build_source(spec.traffic))
    connected = await worker.connect_all()
    if connected == 0:
        pipe.send(("failed", f"no connection to {spec.host}:{spec.port} could be opened"))
        return
    started: asyncio.Future[tuple[int, int, int]] = loop.create_future()

    def on_message() -> None:
        while pipe.poll():
            try:
                message = pipe.recv()
            except EOFError:  # the parent is gone: stop now
                loop.remove_reader(pipe.fileno())
                if not started.done():
                    started.cancel()
                worker.set_end(time.monotonic_ns())
                return
            if message[0] == "start" and not started.done():
                started.set_result((message[1], message[2], message[3]))
            elif message[0] == "end":
                worker.set_end(message[1])

    loop.add_reader(pipe.fileno(), on_message)
    pipe.send(("ready", connected))
    t0, measure_ns, end_ns = await started
    done = worker.start(t0, measure_ns, end_ns)
    keeper = None
    if spec.traffic.needs_tokens and spec.refresh_tokens:
        target = Target(spec.host, spec.port, spec.traffic.server_key, spec.traffic.http_key)
        keeper = loop.create_task(TokenKeeper(worker, target, spec.traffic.tokens, spec.refresh_tokens).run())
    await done
    if keeper is not None:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
    loop.remove_reader(pipe.fileno())
    # The event loop made the pipe non-blocking; a large result would fail with EAGAIN.
    os.set_blocking(pipe.fileno(), True)
    pipe.send(("result", worker.result()))


def worker_main(spec: WorkerSpec, pipe: Connection) -> None:
    """Entry point of a worker process."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(spec, pipe))
    else:
        uvloop.run(_serve(spec, pipe))
