"""Admission control for HTTP requests: a bound on the requests one process serves at once, and a
deadline on each of them.

Past the in-flight bound (``socket.max_inflight_requests``, lowered while requests are slower than
``socket.inflight_latency_target_ms``: wire/concurrency_limit.py) a request is refused with UNAVAILABLE
(HTTP 503) and ``Retry-After``, rather than queued: under overload the requests that are accepted keep
their latency, and the ones refused cost a parse and a short answer. The answer is held for
``socket.shed_delay_ms`` first: HTTP/1.1 carries one request at a time per connection, so a client that
retries at once sends one refusal per hold instead of as many as the CPU can refuse (at 512 closed-loop
connections, refusing at once spent the process on 25,000 refusals a second and served a sixth of its
capacity). A held refusal is a timer, not work, and there is at most one per connection. A request still
running after ``socket.request_timeout_ms`` is cancelled and answered DEADLINE_EXCEEDED (HTTP 504), so
a slow or cut database never piles up waiting requests (the database connections' own TCP timeouts,
see db/address.py, bound the clean-up of a cancelled query). One sweep timer per process cancels the
requests past their deadline (within a tenth of a second of it): ``asyncio.timeout`` per request cost
5 µs, a tenth of the fast lane's whole request.

It runs first in the wire (wire/middleware.py), so a refusal skips the measurement point and common
headers (it is counted by ``<prefix>_api_requests_shed``); refusals and deadline answers reach the access
log through ``answered``, which the wire sets. The latency the bound adapts to leaves out
the time a request waited on other nodes (request_waits.py): that wait costs this process nothing.
Health checks, preflights and the realtime socket are not counted: ``/healthcheck`` must answer while
the process is saturated, and a socket's upgrade request lives as long as the socket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from nakama_py.errors import Code
from nakama_py.metrics import Metrics
from nakama_py.request_waits import open_account
from nakama_py.wire import cors
from nakama_py.wire.concurrency_limit import AdaptiveLimit
from nakama_py.wire.request_view import RequestView
from nakama_py.wire.response import error_response

EXEMPT_PATHS = frozenset({"/", "/healthcheck", "/ws"})
OVERLOADED = "Server is overloaded, retry later."
DEADLINE = "Request deadline exceeded."
RETRY_AFTER_S = "1"
SWEEP_S = 0.1  # how often the deadlines are checked (a quarter of the deadline, if that is shorter)

R = TypeVar("R", bound=RequestView)
Handler = Callable[[R], Awaitable[web.StreamResponse]]
Measured = Callable[[R, Handler[R], str], Awaitable[web.StreamResponse]]
# An answer admission gave itself (the request, its route, the answer, seconds since it arrived).
Answered = Callable[[RequestView, str, web.StreamResponse, float], None]


class Admission:
    """``max_inflight`` 0: no bound; ``timeout_ms`` 0: no deadline; ``latency_target_ms`` 0: a fixed bound;
    ``shed_delay_ms`` 0: refusals answered at once."""

    __slots__ = ("_sweep_s", "_sweeper", "answered", "clock", "deadlines", "expired", "inflight", "limit", "metrics",
                 "shed_delay", "timeout")

    def __init__(self, metrics: Metrics, max_inflight: int, timeout_ms: int, latency_target_ms: int = 0,
                 shed_delay_ms: int = 0) -> None:
        self.metrics = metrics
        self.timeout = timeout_ms / 1000 if timeout_ms > 0 else None
        self.limit = AdaptiveLimit(max_inflight, latency_target_ms, metrics) if max_inflight > 0 else None
        self.inflight = 0
        self.shed_delay = shed_delay_ms / 1000
        self.clock = time.monotonic
        self.deadlines: dict[asyncio.Task[object], float] = {}  # the requests in flight, by their tasks
        self.expired: set[asyncio.Task[object]] = set()  # cancelled by the sweep, not yet answered
        self._sweeper: asyncio.TimerHandle | None = None
        self.answered: Answered | None = None
        self._sweep_s = min(SWEEP_S, self.timeout / 4) if self.timeout is not None else SWEEP_S

    async def admit(self, request: R, handler: Handler[R], route: str, serve: Measured[R]) -> web.StreamResponse:
        """``serve(request, handler, route)``'s response, or a refusal, or the deadline's answer."""
        limit = self.limit
        if limit is not None and self.inflight >= limit.current:
            limit.reached()
            self.metrics.request_shed()
            refusal = error_response(Code.UNAVAILABLE, OVERLOADED)
            refusal.headers["Retry-After"] = RETRY_AFTER_S
            cors.decorate(request, refusal)  # a browser client must be able to read the refusal
            if self.shed_delay:
                await asyncio.sleep(self.shed_delay)
            if self.answered is not None:
                self.answered(request, route, refusal, self.shed_delay)
            return refusal
        self.inflight += 1
        started = self.clock()
        peer_wait = open_account()
        served = False  # answered below 500: the latency the bound adapts to (a lost database is no overload)
        task: asyncio.Task[object] | None = None
        if self.timeout is not None:
            task = asyncio.current_task()
            if task is not None:
                self.deadlines[task] = started + self.timeout
                if self._sweeper is None:
                    self._sweeper = asyncio.get_running_loop().call_later(self._sweep_s, self._sweep)
        try:
            response = await serve(request, handler, route)
            served = response.status < 500
            return response
        except asyncio.CancelledError:
            if task is None or task not in self.expired:
                raise  # the client or the server went away
            task.uncancel()
            self.expired.discard(task)
            self.metrics.request_timed_out()  # the measurement point counted the request as cancelled
            late = error_response(Code.DEADLINE_EXCEEDED, DEADLINE)
            cors.decorate(request, late)
            if self.answered is not None:
                self.answered(request, route, late, self.clock() - started)
            return late
        finally:
            self.inflight -= 1
            if task is not None:
                del self.deadlines[task]
                if task in self.expired:
                    self.expired.discard(task)
                    if task.cancelling():  # the handler swallowed the cancellation and answered anyway
                        task.uncancel()
            if served and limit is not None:
                now = self.clock()
                limit.finished(now, now - started - peer_wait[0])

    def _sweep(self) -> None:
        """Cancel the requests past their deadline; the sweep runs while any request is in flight."""
        self._sweeper = None
        now = self.clock()
        for task, deadline in self.deadlines.items():
            if deadline <= now and task not in self.expired:
                self.expired.add(task)
                task.cancel()
        if self.deadlines:
            self._sweeper = asyncio.get_running_loop().call_later(self._sweep_s, self._sweep)
