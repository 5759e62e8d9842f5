"""A request refused by the in-flight bound gets its 503 after ``socket.shed_delay_ms``, not at once: a
client retrying in a closed loop then waits on its connection instead of spending the server's CPU on
refusals. What is admitted is not delayed. Served over real HTTP by the wire's admission."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from nakama_py.metrics import Metrics
from nakama_py.wire.admission import Admission
from nakama_py.wire.middleware import Wire, wire_middleware

pytestmark = pytest.mark.integration  # a real HTTP server on 127.0.0.1, no database

BUSY_S = 0.6  # the one admitted request holds the bound this long


async def refusal_times(shed_delay_ms: int) -> tuple[float, list[float]]:
    """(the admitted request's time, each refused request's time) with a bound of one request."""
    metrics = Metrics()
    started = asyncio.Event()

    async def busy(request: web.Request) -> web.Response:
        started.set()
        await asyncio.sleep(BUSY_S)
        return web.json_response({})

    app = web.Application(middlewares=[wire_middleware(Wire(metrics, Admission(metrics, 1, 0, 0, shed_delay_ms)))])
    app.router.add_get("/busy", busy)
    async with TestClient(TestServer(app)) as client:
        async def timed(path: str) -> tuple[int, float, str | None]:
            begun = time.monotonic()
            async with client.get(path) as reply:
                await reply.read()
                return reply.status, time.monotonic() - begun, reply.headers.get("Retry-After")

        admitted = asyncio.create_task(timed("/busy"))
        await started.wait()
        refused = await asyncio.gather(*(timed("/busy") for _ in range(3)))
        status, admitted_s, _ = await admitted
    assert status == 200
    assert {(status, retry) for status, _, retry in refused} == {(503, "1")}
    return admitted_s, [seconds for _, seconds, _ in refused]


async def test_a_refusal_is_held_for_the_shed_delay() -> None:
    admitted_s, refused = await refusal_times(300)
    assert all(0.3 <= seconds < BUSY_S for seconds in refused), refused
    assert admitted_s < BUSY_S + 0.2


async def test_without_a_shed_delay_a_refusal_is_answered_at_once() -> None:
    _, refused = await refusal_times(0)
    assert all(seconds < 0.15 for seconds in refused), refused
