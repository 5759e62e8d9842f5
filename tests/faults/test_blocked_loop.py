"""A runtime module that blocks the event loop or leaks tasks: the loop-lag metric and a warning
naming the RPC (and the module's line) show it, and the server keeps answering health checks."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import aiohttp

from tests.support.ports import free_port
from tests.support.racing import HTTP_KEY
from tests.support.server import start_server

MODULE = '''
import asyncio
import time

from nakama_py.runtime import Context, Initializer, NakamaModule, RuntimeLogger

LEAKED = set()


async def hold_the_loop(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    time.sleep(1.2)  # a blocking call in an async RPC: every other request of the process waits
    return "{}"


async def leak_tasks(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, payload: str) -> str:
    for _ in range(200):
        LEAKED.add(asyncio.get_running_loop().create_task(asyncio.sleep(3600)))
    return "{}"


def init_module(ctx: Context, logger: RuntimeLogger, nk: NakamaModule, initializer: Initializer) -> None:
    initializer.register_rpc("hold_the_loop", hold_the_loop)
    initializer.register_rpc("leak_tasks", leak_tasks)
'''


def metric(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name) + (re.escape("{" + labels + "}") if labels else r"(?:\{\})?") + r" ([0-9.e+-]+)"
    match = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_a_blocking_rpc_is_named_and_health_checks_still_answer(tmp_path: Path, database_url: str) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "misbehaving.py").write_text(MODULE)
    metrics_port = free_port()
    server = start_server(tmp_path, database_url, "--runtime.path", str(modules),
                          "--metrics.prometheus_port", str(metrics_port))
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            async def call(rpc_id: str) -> int:
                async with session.post(f"{server.url}/v2/rpc/{rpc_id}?http_key={HTTP_KEY}",
                                        data=json.dumps("{}")) as response:
                    return response.status

            async def health() -> tuple[int, float]:
                started = time.monotonic()
                async with session.get(server.url + "/healthcheck") as response:
                    return response.status, time.monotonic() - started

            async with session.get(metrics_url) as response:
                before = await response.text()
            blocking = asyncio.create_task(call("hold_the_loop"))
            await asyncio.sleep(0.2)
            checks = await asyncio.gather(*(health() for _ in range(5)))
            assert await blocking == 200
            # Answered: late by the block at most, never refused or dropped.
            assert all(status == 200 and took < 2.5 for status, took in checks), checks

            assert await call("leak_tasks") == 200
            await asyncio.sleep(6)  # the process gauges are sampled every 5 s
            async with session.get(metrics_url) as response:
                after = await response.text()
    finally:
        server.stop()
    assert metric(after, "nakama_event_loop_stalls_total", 'rpc="hold_the_loop"') == 1
    lag_over_1s = (metric(after, "nakama_event_loop_lag_seconds_count")
                   - metric(after, "nakama_event_loop_lag_seconds_bucket", 'le="1.0"'))
    assert lag_over_1s >= 1  # the histogram holds the 1.2 s the loop was held
    assert metric(after, "nakama_asyncio_tasks") >= metric(before, "nakama_asyncio_tasks") + 200  # the leak shows
    assert metric(after, "nakama_process_resident_memory_bytes") > 0
    assert metric(after, "nakama_process_open_fds") > 0
    assert metric(after, "nakama_db_pool_connections") > 0
    warnings = [json.loads(line) for line in server.log().splitlines()
                if line.startswith("{") and '"nakama_py.loop"' in line]
    held = [w for w in warnings if w["msg"] == "event loop is blocked" and w["rpc"] == "hold_the_loop"]
    assert held and held[0]["at"].endswith("in hold_the_loop") and "misbehaving.py" in held[0]["at"], warnings
    ended = [w for w in warnings if w["msg"] == "event loop was blocked" and w["rpc"] == "hold_the_loop"]
    assert ended and ended[0]["blocked_ms"] >= 1100, warnings
