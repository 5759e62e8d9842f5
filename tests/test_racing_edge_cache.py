"""The racing standings behind a real caching proxy (nginx ``proxy_cache``, deploy/local/edge_cache.py) under
the ``standings`` bench load: the origin sees at most one request per cache period for the URL, players
see a new leader within the stated bound, and a finished cycle is served from the cache alone."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.database import create_database, drop_database, migrate
from tests.support.ports import free_port
from tests.support.racing import racing_flags, rpc
from tests.support.server import REPO, ServerProcess, start_server
from tests.support.users import create_user_in

DAY = 86400
CACHE_MS = 2000
MAX_AGE = 2  # racing_leaderboard_cache_ms in seconds: the route's max-age and stale-while-revalidate
# How old a player's view may be: the origin's memo + max-age + stale-while-revalidate (public_standings.py).
BOUND_S = CACHE_MS / 1000 + MAX_AGE + MAX_AGE
URI = "/racing/standings?limit=100"  # what the bench's standings scenario reads


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    database = create_database("nakama_py_edge")
    migrate(database)
    tmp = tmp_path_factory.mktemp("edge-origin")
    server = start_server(tmp, database, "--socket.workers", "2", "--logger.level", "warn",
                          *racing_flags(tmp, cycle_seconds=DAY, leaderboard_cache_ms=CACHE_MS,
                                        submit_rate_per_minute=1000))
    try:
        yield server, database
    finally:
        server.stop()
        drop_database(database)


@pytest.fixture
def edge(origin: tuple[ServerProcess, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    directory = tmp_path / "edge"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "deploy" / "local" / "edge_cache.py"), "--origin", origin[0].url,
         "--port", str(port), "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with subprocess.Popen(["curl", "-sf", "-o", "/dev/null", url + "/healthcheck"]) as probe:
                    if probe.wait() == 0:
                        break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read() if process.stderr \
                else "nginx did not start"
            time.sleep(0.1)
        yield url, directory / "edge-access.log"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def origin_fetches(log: Path, uri: str) -> list[tuple[float, str, str]]:
    """(time, cache status, origin status) of each request for ``uri`` that reached the origin."""
    fetches = []
    for line in log.read_text().splitlines():
        stamp, cache, upstream, request_uri, _ = line.split(" ")
        if request_uri == uri and upstream != "-":
            fetches.append((float(stamp), cache, upstream))
    return fetches


async def watch_new_leaders(origin_url: str, edge_url: str, database: str, rounds: int) -> list[float]:
    """Submit a new best time at the origin, then read the proxy until it shows it: each lag, seconds."""
    lags: list[float] = []
    async with aiohttp.ClientSession() as session:
        for index in range(rounds):
            player = create_user_in(database)
            seconds = round(20.0 - index * 0.5, 3)  # below every bench time: the new leader
            status, reply = await rpc(session, origin_url, "submit_race_time",
                                      {"race_time": seconds, "idempotency_key": f"leader-{index}"}, token=player.token)
            assert status == 200, reply
            accepted = time.monotonic()
            while True:
                async with session.get(edge_url + URI) as response:
                    assert response.status == 200
                    top = (await response.json())["entries"][0]
                if top["race_time_ms"] == round(seconds * 1000):
                    lags.append(time.monotonic() - accepted)
                    break
                assert time.monotonic() - accepted < BOUND_S + 5, f"round {index}: not visible in {BOUND_S + 5}s"
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.3)
    return lags


async def test_the_edge_cache_shields_the_origin_within_the_freshness_bound(
        origin: tuple[ServerProcess, str], edge: tuple[str, Path]) -> None:
    server, database = origin
    edge_url, access_log = edge
    bench = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "nakama_py", "bench", "standings", "--url", edge_url, "--records", "500",
        "--users", "500", "--duration", "12s", "--warmup", "1s", "--connections", "32", "--processes", "1",
        "--engine", "python", "--user-prefix", "edge", "--json", "--quiet",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    # The bench prefills 500 records first (through the proxy, uncached); watch leaders once it reads.
    await asyncio.sleep(8)
    lags = await watch_new_leaders(server.url, edge_url, database, rounds=5)
    out, err = await bench.communicate()
    assert bench.returncode == 0, err.decode()[-3000:]
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["requests"] > 0 and report["ok"] == report["requests"], report["errors"]

    fetches = origin_fetches(access_log, URI)
    assert fetches, "the origin was never asked"
    per_period = Counter(int(stamp // MAX_AGE) for stamp, _, _ in fetches)
    assert max(per_period.values()) == 1, per_period  # at most one origin request per cache period
    served = sum(1 for line in access_log.read_text().splitlines() if f" {URI} " in line)
    assert len(fetches) * 20 < served  # the proxy answered nearly all of them
    assert max(lags) <= BOUND_S, lags
    statuses = Counter(upstream for _, _, upstream in fetches)
    print(f"\nedge cache: {report['requests']} standings reads through nginx in {report['duration_s']}s "
          f"({report['requests_per_s']:.0f}/s, p99 {report['latency_ms']['p99']:.1f} ms); "
          f"{served} requests for {URI} at the proxy, {len(fetches)} reached the origin ({dict(statuses)}); "
          f"new leader visible after {', '.join(f'{lag:.2f}' for lag in lags)} s (bound {BOUND_S:g} s)")


async def test_a_finished_cycle_is_served_from_the_cache_alone(origin: tuple[ServerProcess, str],
                                                               edge: tuple[str, Path]) -> None:
    edge_url, access_log = edge
    uri = f"/racing/standings/{int(time.time() // DAY) - 1}?limit=10"
    async with aiohttp.ClientSession() as session:
        for _ in range(20):
            async with session.get(edge_url + uri) as response:
                assert response.status == 200
                assert response.headers["Cache-Control"] == "public, max-age=86400, immutable"
            await asyncio.sleep(0.05)
    assert len(origin_fetches(access_log, uri)) == 1
    tags = set()
    for _ in range(12):  # a new connection each time: the kernel spreads them over the origin's 2 workers
        async with aiohttp.ClientSession() as session, session.get(origin[0].url + uri) as response:
            tags.add(response.headers["ETag"])
    assert len(tags) == 1  # every worker serves the route, with the same tag for the same standings
