"""``python bench/request_cost.py``: what one trivial authenticated request costs the server, in figures
that the neighbours' load barely moves (this machine is shared, so wall-clock throughput is not one).

A benchmark helper beside rank_warm.py: it builds a server process's state and app in this process
(a scratch database on ``--admin-url``, dropped afterwards), serves them on a local port, and sends
``--requests`` keep-alive requests from a client thread. Over the measured requests it reports, per
request, for the server's thread only (the client runs in another thread):

- Python function calls (cProfile's count: the same from run to run, whatever the load),
- CPU microseconds of the server thread (``time.thread_time``, without the profiler),
- with ``--top N``, the functions called most per request, to see where the calls go.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import http.client
import os
import pstats
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg
from aiohttp import web

from nakama_py.app import build_app
from nakama_py.config import load_config, parse_flags
from nakama_py.db.migrations import migrate_up
from nakama_py.db.pool import Database
from nakama_py.state import build_state

MODULES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runtime_modules")
# The event loop's own functions: how many of them run per request depends on how requests and wake-ups
# interleave (timing), so they are counted apart from the request's path.
LOOP_FILES = ("asyncio/", "selectors.py")
POLL = "<method 'poll' of 'select.epoll' objects>"
ROUTES = {
    "echo": ("POST", "/v2/rpc/echo", b'"hello"'),
    "account": ("GET", "/v2/account", None),
    "healthcheck": ("GET", "/healthcheck", None),
}


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _client(port: int, route: str, count: int, token: str, done: Callable[[], None], spent: list[float]) -> None:
    method, path, body = ROUTES[route]
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    for _ in range(count):
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"{route}: HTTP {response.status}")
    spent.append(time.perf_counter() - started)
    conn.close()
    done()


def _sign_in(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("POST", "/v2/account/authenticate/custom?create=true", body=b'{"id": "request-cost-user"}',
                 headers={"Authorization": "Basic ZGVmYXVsdGtleTo=", "Content-Type": "application/json"})
    token = str(orjson.loads(conn.getresponse().read())["token"])
    conn.close()
    return token


async def _measure(url: str, route: str, requests: int, top: int) -> None:
    db = Database(url, min_size=1, max_size=2)
    await db.connect()
    await migrate_up(db)
    await db.close()
    modules = MODULES
    files, flags = parse_flags(["--database.address", url, "--runtime.path", modules, "--logger.level", "warn"])
    state = await build_state(load_config(files, flags, environ={}), url)
    runner = web.AppRunner(build_app(state), access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    try:
        token = await asyncio.to_thread(_sign_in, port)

        async def run(count: int, profile: cProfile.Profile | None) -> tuple[float, float]:
            loop = asyncio.get_running_loop()
            finished: asyncio.Future[None] = loop.create_future()
            spent: list[float] = []

            def done() -> None:  # from the client thread: wakes this loop once, no polling in between
                loop.call_soon_threadsafe(finished.set_result, None)

            cpu = time.thread_time()
            if profile is not None:
                profile.enable()
            thread = threading.Thread(target=_client, args=(port, route, count, token, done, spent))
            thread.start()
            await finished
            if profile is not None:
                profile.disable()
            thread.join()
            return time.thread_time() - cpu, spent[0]

        await run(min(500, requests), None)  # warm: caches, lazily built routes, the first token check
        cpu, wall = await run(requests, None)
        profile = cProfile.Profile()
        await run(requests, profile)
        stats = pstats.Stats(profile)
        calls = stats.total_calls  # type: ignore[attr-defined]
        table = stats.stats  # type: ignore[attr-defined]
        loop_calls = sum(row[1] for (filename, _, name), row in table.items()
                         if any(part in filename for part in LOOP_FILES) or name == POLL)
        print(f"{route}: {requests} requests, one keep-alive connection")
        print(f"  python calls per request (server thread): {calls / requests:.1f}, of which the event"
              f" loop's {loop_calls / requests:.1f}: the request's path {(calls - loop_calls) / requests:.1f}")
        print(f"  server thread CPU per request: {1e6 * cpu / requests:.0f} us"
              f" (client-side {requests / wall:,.0f} req/s)")
        if top:
            rows = sorted(stats.stats.items(), key=lambda item: -item[1][1])[:top]  # type: ignore[attr-defined]
            for (filename, line, name), (_, ncalls, *_rest) in rows:
                where = filename.split("site-packages/")[-1].split("nakama_py/")[-1]
                print(f"    {ncalls / requests:6.1f}  {name}  ({where}:{line})")
    finally:
        await runner.cleanup()
        await state.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/request_cost.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("route", choices=sorted(ROUTES), nargs="?", default="echo")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=0, help="also list the N functions called most per request")
    parser.add_argument("--admin-url", default=os.environ.get("NAKAMA_PY_BENCH_PG",
                                                              "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args(argv)
    name = f"nakama_py_request_cost_{secrets.token_hex(4)}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        asyncio.run(_measure(_with_database(args.admin_url, name), args.route, args.requests, args.top))
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
