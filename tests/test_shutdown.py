"""Graceful shutdown: stop accepting, finish what is in flight, close everything, exit 0."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from nakama_py.app import build_app
from nakama_py.server import shutdown_wait
from nakama_py.state import ServerState
from tests.support.ports import free_port, listening
from tests.support.server import start_server


async def test_in_flight_requests_finish_during_shutdown(state: ServerState) -> None:
    started = asyncio.Event()

    async def slow(_: web.Request) -> web.Response:
        started.set()
        await asyncio.sleep(0.8)
        return web.json_response({"done": True})

    app = build_app(state)
    app.router.add_get("/probe/slow", slow)
    runner = web.AppRunner(app, shutdown_timeout=shutdown_wait(state.config), handle_signals=False)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with aiohttp.ClientSession() as session:
        call = asyncio.create_task(session.get(f"http://127.0.0.1:{port}/probe/slow"))
        await started.wait()
        cleanup = asyncio.create_task(runner.cleanup())
        await asyncio.sleep(0.2)
        assert not listening(port)  # no longer accepting while the slow request runs
        response = await call
        assert response.status == 200
        assert await response.json() == {"done": True}
        await cleanup


def test_sigterm_stops_a_server_cleanly(tmp_path: Path, database_url: str) -> None:
    server = start_server(tmp_path, database_url)
    assert listening(server.port)
    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 10
    assert not listening(server.port)
    log = server.log()
    assert '"msg":"shutting down"' in log
    assert log.strip().splitlines()[-1].find('"msg":"stopped"') >= 0  # the run's last line


def test_sigint_stops_all_workers(tmp_path: Path, database_url: str) -> None:
    server = start_server(tmp_path, database_url, "--socket.workers", "2")
    log = server.log()
    assert log.count('"msg":"server ready"') >= 1
    assert server.stop(signal.SIGINT) == 0
    assert not listening(server.port)
    assert server.log().count('"msg":"shutting down"') == 2
    assert server.log().count('"msg":"stopped"') == 1  # the supervisor, after its workers
