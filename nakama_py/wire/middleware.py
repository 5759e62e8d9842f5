"""The wire every API request passes, whichever HTTP core parsed it (aiohttp, or the fast lane of
wire/fast_lane.py): admission (wire/admission.py), then CORS, error mapping, common headers,
compression, and the per-route measurement point (metrics and access log).

For aiohttp it is a single middleware on purpose: each aiohttp middleware layer costs a call on the
hot path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

from nakama_py.errors import Code, NakamaError
from nakama_py.logs import ACCESS
from nakama_py.metrics import Metrics
from nakama_py.wire import cors
from nakama_py.wire.admission import EXEMPT_PATHS, Admission, Handler, R
from nakama_py.wire.request import has_nul_in_path
from nakama_py.wire.request_view import RequestView
from nakama_py.wire.response import GRPC_CODE, error_response, from_error
from nakama_py.wire.timeouts import request_finished, request_started

log = logging.getLogger("nakama_py.http")

# The signed-in user of a request, set by the auth helpers, logged by the access log.
USER_ID = web.RequestKey("user_id", str)
COMPRESS_MIN_BYTES = 1024
NO_CACHE = "no-store, no-cache, must-revalidate"
NUL_IN_PATH = "Invalid request: the path contains a NUL character."
UNMATCHED = "unmatched"
Settle = Callable[[float], Awaitable[None]]


def http_exception_to_response(exc: web.HTTPException) -> web.Response:
    if isinstance(exc, web.HTTPNotFound):
        return error_response(Code.NOT_FOUND, "Not Found")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return error_response(Code.UNIMPLEMENTED, "Method Not Allowed")
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return error_response(Code.INVALID_ARGUMENT, "http: request body too large")
    if 400 <= exc.status < 500:
        return error_response(Code.INVALID_ARGUMENT, exc.reason)
    return error_response(Code.INTERNAL, exc.reason)


def grpc_code_of(response: web.StreamResponse) -> int:
    """The gRPC code a response stands for, for metrics: 0 on success."""
    code: int | None = response.get(GRPC_CODE)
    if code is not None:
        return code
    status = response.status
    if status < 400:
        return Code.OK
    return _CODE_OF_STATUS.get(status, Code.INTERNAL)


# A response made without a gRPC code (aiohttp's own errors): the code its status stands for.
_CODE_OF_STATUS: dict[int, Code] = {400: Code.INVALID_ARGUMENT, 401: Code.UNAUTHENTICATED, 403: Code.PERMISSION_DENIED,
                   404: Code.NOT_FOUND, 409: Code.ALREADY_EXISTS, 429: Code.RESOURCE_EXHAUSTED,
                   501: Code.UNIMPLEMENTED, 503: Code.UNAVAILABLE}


def parse_response_headers(pairs: Sequence[str]) -> list[tuple[str, str]]:
    headers = []
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name.strip():
            headers.append((name.strip(), value.strip()))
    return headers


class Wire:
    """Admission, then the measurement point, around a route's handler."""

    __slots__ = ("admission", "extra_headers", "metrics", "settle")

    def __init__(self, metrics: Metrics, admission: Admission, response_headers: Sequence[str] = (),
                 settle: Settle | None = None) -> None:
        self.metrics = metrics
        self.admission = admission
        self.extra_headers = parse_response_headers(response_headers)
        # Awaited before an answer goes out, with when the request began (time.monotonic()): a write's
        # hold for readers on other nodes (core/node_sync.py); None on a single node.
        self.settle = settle
        admission.answered = self.log_answer

    @staticmethod
    def log_answer(request: RequestView, route: str, response: web.StreamResponse, elapsed: float) -> None:
        """An answer admission gave itself (a refusal, a deadline): in the access log like the others."""
        if ACCESS.enabled:
            ACCESS.request(route, request.method, response.status, grpc_code_of(response), round(elapsed * 1000, 3),
                           request.get(USER_ID, ""))

    async def handle(self, request: R, handler: Handler[R], route: str) -> web.StreamResponse:
        """``route``: the route's name for metrics and the access log (its canonical path)."""
        if request.path in EXEMPT_PATHS or request.method == "OPTIONS":  # preflights are answered at once
            return await self.measured(request, handler, route)
        return await self.admission.admit(request, handler, route, self.measured)

    async def measured(self, request: R, handler: Handler[R], route: str) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return cors.preflight(request)
        if has_nul_in_path(request.raw_path):
            return error_response(Code.INVALID_ARGUMENT, NUL_IN_PATH)
        started = time.perf_counter()
        since = time.monotonic() if self.settle is not None else 0.0
        meter = self.metrics.route(route, request.method)
        meter.started()
        try:
            response = await handler(request)
        except NakamaError as exc:
            response = from_error(exc)
        except web.HTTPException as exc:
            response = http_exception_to_response(exc)
        except asyncio.CancelledError:  # the client went away, or the deadline passed
            meter.finished(Code.CANCELLED, time.perf_counter() - started)
            raise
        except Exception:
            log.exception("unhandled error", extra={"fields": {"path": request.path}})
            response = error_response(Code.INTERNAL, "Internal Server Error")
        if self.settle is not None:
            await self.settle(since)

        headers = response.headers
        cors.decorate(request, response)
        if request.path != "/" and "Cache-Control" not in headers:  # a module HTTP route may set its own
            headers["Cache-Control"] = NO_CACHE
        headers["Vary"] = "Accept-Encoding"
        for name, value in self.extra_headers:
            if name not in headers:
                headers[name] = value
        if isinstance(response, web.Response) and response.body is not None:
            body = response.body
            if isinstance(body, bytes) and len(body) >= COMPRESS_MIN_BYTES:
                accept = request.headers.get("Accept-Encoding", "")
                if "gzip" in accept or "deflate" in accept:
                    response.enable_compression()

        elapsed = time.perf_counter() - started
        code = grpc_code_of(response)
        meter.finished(code, elapsed)
        if ACCESS.enabled:
            ACCESS.request(route, request.method, response.status, code, round(elapsed * 1000, 3),
                           request.get(USER_ID, ""))
        return response


def wire_middleware(wire: Wire) -> Middleware:
    """The wire as aiohttp's one middleware, with the connection's read and write deadlines (wire/timeouts.py)."""

    @web.middleware
    async def nakama_wire(request: web.Request, handler: Handler[web.Request]) -> web.StreamResponse:
        request_started(request)  # the read deadline now waits only for the body
        try:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else UNMATCHED
            return await wire.handle(request, handler, route)
        finally:
            request_finished(request)  # the write deadline starts

    return nakama_wire
