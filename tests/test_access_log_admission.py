"""Answers admission gives itself (a refusal past the in-flight bound, a request cut at its deadline) are in
the access log like every other answer: an operator counting 503s and 504s there sees them all. Served over
real HTTP by the wire; the access log is read as the lines it writes."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from nakama_py.errors import Code
from nakama_py.logs import ACCESS
from nakama_py.metrics import Metrics
from nakama_py.wire.admission import Admission
from nakama_py.wire.middleware import Wire, wire_middleware

pytestmark = pytest.mark.integration  # a real HTTP server on 127.0.0.1, no database

DEADLINE_MS = 300


@pytest.fixture
def access_lines() -> Iterator[io.BytesIO]:
    sink = io.BytesIO()
    ACCESS.configure([sink], json=True, enabled=True)
    try:
        yield sink
    finally:
        ACCESS.configure([], json=True, enabled=False)


def logged(sink: io.BytesIO) -> list[dict[str, object]]:
    ACCESS.flush()
    return [orjson.loads(line) for line in sink.getvalue().splitlines()]


async def test_refusals_and_deadline_answers_are_in_the_access_log(access_lines: io.BytesIO) -> None:
    metrics = Metrics()
    started = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        started.set()
        await asyncio.sleep(5)
        return web.json_response({})

    app = web.Application(middlewares=[wire_middleware(Wire(metrics, Admission(metrics, 1, DEADLINE_MS, 0, 0)))])
    app.router.add_post("/slow", slow)
    async with TestClient(TestServer(app)) as client:
        async def status_of(path: str) -> int:
            async with client.post(path) as reply:
                await reply.read()
                return reply.status

        admitted = asyncio.create_task(status_of("/slow"))
        await started.wait()
        assert await status_of("/slow") == 503  # the bound of one is taken
        assert await admitted == 504

    lines = logged(access_lines)
    assert [(line["route"], line["method"], line["status"], line["code"]) for line in lines] == [
        ("/slow", "POST", 503, Code.UNAVAILABLE), ("/slow", "POST", 504, Code.DEADLINE_EXCEEDED)]
    refused, late = lines
    assert isinstance(refused["duration_ms"], float) and refused["duration_ms"] < DEADLINE_MS
    assert isinstance(late["duration_ms"], float) and DEADLINE_MS <= late["duration_ms"] < DEADLINE_MS + 500
