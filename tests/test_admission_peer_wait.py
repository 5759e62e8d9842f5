"""The in-flight bound adapts to the time requests spend working, not to the time they wait on other
nodes (read-your-writes proofs): a cluster's waits must not shed load one node would serve, while the
same slowness spent working still lowers the bound. Served over real HTTP by the wire's admission."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from nakama_py.metrics import Metrics
from nakama_py.request_waits import add_peer_wait
from nakama_py.wire.admission import Admission
from nakama_py.wire.middleware import Wire, wire_middleware

pytestmark = pytest.mark.integration  # a real HTTP server on 127.0.0.1, no database

CEILING = 40
TARGET_MS = 5
SLOW_S = 0.02  # four times the target


async def waits_on_a_peer(request: web.Request) -> web.Response:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(SLOW_S)
    add_peer_wait(loop.time() - started)  # what the wait took, a busy machine's late wake-up included
    return web.json_response({})


async def works_slowly(request: web.Request) -> web.Response:
    await asyncio.sleep(SLOW_S)
    return web.json_response({})


async def bound_after(path: str) -> float | None:
    metrics = Metrics()
    app = web.Application(middlewares=[wire_middleware(Wire(metrics, Admission(metrics, CEILING, 0, TARGET_MS)))])
    app.router.add_get("/peer", waits_on_a_peer)
    app.router.add_get("/work", works_slowly)
    async with TestClient(TestServer(app)) as client:
        for _ in range(20):  # about 0.5 s: five of the bound's 100 ms windows
            replies = await asyncio.gather(*(client.get(path) for _ in range(8)))
            assert {reply.status for reply in replies} == {200}
    return metrics.registry.get_sample_value("nakama_api_inflight_limit")


async def test_time_waiting_on_peers_does_not_lower_the_bound() -> None:
    assert await bound_after("/peer") == CEILING


async def test_the_same_time_spent_working_does() -> None:
    lowered = await bound_after("/work")
    assert lowered is not None and lowered < CEILING * 0.9**3
