"""Admission control for HTTP requests: a bound on the requests one process serves at once, and a
deadline on each of them.

Past the in-flight bound (``socket.max_inflight_requests``, lowered while requests are slower than
``socket.inflight_latency_target_ms``: wire/concurrency_limit.py) a request is refused at once with
UNAVAILABLE (HTTP 503) and ``Retry-After``, rather than queued: under overload the requests that are
accepted keep their latency, and the ones refused cost a parse and a short answer. A request still
running after ``socket.request_timeout_ms`` is cancelled and answered DEADLINE_EXCEEDED (HTTP 504), so
a slow or cut database never piles up waiting requests (the database connections' own TCP timeouts,
see db/address.py, bound the clean-up of a cancelled query).

It is the outermost middleware, so a refusal skips the measurement point and common headers (it is
counted by ``<prefix>_api_requests_shed``). The latency the bound adapts to leaves out the time a
request waited on other nodes (request_waits.py): that wait costs this process nothing. Health
checks, preflights and the realtime socket are not counted: ``/healthcheck`` must answer while the
process is saturated, and a socket's upgrade request lives as long as the socket.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from nakama_py.errors import Code
from nakama_py.metrics import Metrics
from nakama_py.request_waits import open_account
from nakama_py.wire import cors
from nakama_py.wire.concurrency_limit import AdaptiveLimit
from nakama_py.wire.response import error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

EXEMPT_PATHS = frozenset({"/", "/healthcheck", "/ws"})
OVERLOADED = "Server is overloaded, retry later."
DEADLINE = "Request deadline exceeded."
RETRY_AFTER_S = "1"


def build_admission(metrics: Metrics, max_inflight: int, timeout_ms: int, latency_target_ms: int = 0) -> Middleware:
    """``max_inflight`` 0: no bound; ``timeout_ms`` 0: no deadline; ``latency_target_ms`` 0: a fixed bound."""
    timeout = timeout_ms / 1000 if timeout_ms > 0 else None
    limit = AdaptiveLimit(max_inflight, latency_target_ms, metrics) if max_inflight > 0 else None
    inflight = 0
    clock = time.monotonic

    @web.middleware
    async def admission(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal inflight
        if request.path in EXEMPT_PATHS or request.method == "OPTIONS":  # preflights are answered at once
            return await handler(request)
        if limit is not None and inflight >= limit.current:
            limit.reached()
            metrics.request_shed()
            refusal = error_response(Code.UNAVAILABLE, OVERLOADED)
            refusal.headers["Retry-After"] = RETRY_AFTER_S
            cors.decorate(request, refusal)  # a browser client must be able to read the refusal
            return refusal
        inflight += 1
        started = clock()
        peer_wait = open_account()
        served = False  # answered below 500: the latency the bound adapts to (a lost database is no overload)
        try:
            if timeout is None:
                response = await handler(request)
            else:
                deadline = asyncio.timeout(timeout)
                try:
                    async with deadline:
                        response = await handler(request)
                except TimeoutError:
                    if not deadline.expired():
                        raise  # a timeout of the handler's own, not the deadline
                    metrics.request_timed_out()  # the inner middleware counted the request as cancelled
                    late = error_response(Code.DEADLINE_EXCEEDED, DEADLINE)
                    cors.decorate(request, late)
                    return late
            served = response.status < 500
            return response
        finally:
            inflight -= 1
            if served and limit is not None:
                now = clock()
                limit.finished(now, now - started - peer_wait[0])

    return admission
