"""`nakama-py scheduler`: calls an RPC with the http key, retries transient failures, stops on permanent ones."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from tests.support.database import create_database, drop_database, migrate
from tests.support.ports import free_port
from tests.support.racing import HTTP_KEY, racing_flags
from tests.support.server import start_server

pytestmark = pytest.mark.slow  # runs the scheduler command and servers


class StandIn:
    """A stand-in RPC endpoint answering with a scripted sequence of statuses."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.calls: list[tuple[str, str, bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append((request.match_info["id"], request.query.get("http_key", ""), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            return web.json_response({"payload": '{"finalized":true}'})
        return web.json_response({"code": 16, "message": "HTTP key invalid", "error": "HTTP key invalid"},
                                 status=status)


@pytest.fixture
async def stand_in(request: pytest.FixtureRequest) -> AsyncIterator[tuple[StandIn, int]]:
    server = StandIn(list(request.param))
    app = web.Application()
    app.router.add_post("/v2/rpc/{id}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield server, port
    await runner.cleanup()


async def run_scheduler(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "nakama_py", "scheduler", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


@pytest.mark.parametrize("stand_in", [[503, 502, 200]], indirect=True)
async def test_transient_failures_are_retried(stand_in: tuple[StandIn, int]) -> None:
    server, port = stand_in
    code, output = await run_scheduler("--once", "--url", f"http://127.0.0.1:{port}", "--http-key", "k1",
                                       "--rpc", "manual_reset_leaderboard")
    assert code == 0, output
    assert len(server.calls) == 3
    rpc_id, key, body = server.calls[-1]
    assert (rpc_id, key) == ("manual_reset_leaderboard", "k1")
    assert orjson.loads(body) == "{}"  # the body is a JSON string holding the payload
    assert "retrying" in output


@pytest.mark.parametrize("stand_in", [[401]], indirect=True)
async def test_a_wrong_key_is_a_permanent_error(stand_in: tuple[StandIn, int]) -> None:
    server, port = stand_in
    code, output = await run_scheduler("--once", "--url", f"http://127.0.0.1:{port}", "--http-key", "wrong")
    assert code == 2
    assert "HTTP 401" in output and "HTTP key invalid" in output
    assert len(server.calls) == 1


async def test_an_unreachable_server_gives_up_when_the_next_run_is_due() -> None:
    code, output = await run_scheduler("--once", "--cron", "* * * * * * *", "--url",
                                       f"http://127.0.0.1:{free_port()}", "--http-key", "k")
    assert code == 1
    assert "abandoned" in output


async def test_a_bad_cron_expression_is_refused() -> None:
    code, output = await run_scheduler("--cron", "every minute", "--http-key", "k")
    assert code == 2 and "--cron" in output


async def test_against_the_racing_module(tmp_path: Path) -> None:
    database = create_database("nakama_py_sched")
    await asyncio.to_thread(migrate, database)
    server = start_server(tmp_path, database, *racing_flags(tmp_path, cycle_seconds=60))
    try:
        code, output = await run_scheduler("--once", "--url", server.url, "--http-key", HTTP_KEY)
        assert code == 0, output
        assert '\\"finalized\\":true' in output or '"finalized":true' in output
        code, output = await run_scheduler("--once", "--url", server.url, "--http-key", "wrong-key")
        assert code == 2 and "HTTP key invalid" in output
    finally:
        server.stop()
        drop_database(database)
