"""``python bench/rank_warm.py --records 1000000``: how long a server process takes to warm the
rank structure of a leaderboard with that many records, and the memory it holds.

A benchmark helper, not part of the package: it drives the server's leaderboard service
directly (``nakama-py bench`` only speaks the wire API), so it lives beside the Locust file.

It makes a scratch database on the PostgreSQL at ``--admin-url`` (dropped afterwards),
fills one leaderboard with random records, then builds a LeaderboardService as a server
process does at start-up and reports the warm-up time and the growth of the process's
resident memory; with ``--tracemalloc`` it warms a second time under tracemalloc and
reports the bytes Python allocated for the structure (tracemalloc slows the load, so that
run's time is not reported).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import secrets
import sys
import time
import tracemalloc
from urllib.parse import urlsplit, urlunsplit

import psycopg

from nakama_py.config import load_config, parse_flags
from nakama_py.core.leaderboards import LeaderboardService
from nakama_py.db.migrations import migrate_up
from nakama_py.db.pool import Database

BOARD = "bench_rank_warm"
FILL_BATCH = 200_000


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _fill(db: Database, records: int) -> None:
    await db.execute("INSERT INTO leaderboard (id, sort_order, operator) VALUES (%s, 0, 0)", (BOARD,))
    done = 0
    while done < records:
        count = min(FILL_BATCH, records - done)
        await db.execute(
            "INSERT INTO leaderboard_record (leaderboard_id, owner_id, username, score, subscore)"
            " SELECT %s, gen_random_uuid(), 'racer_' || (%s + i), (random() * 3600000)::bigint,"
            " (random() * 1000)::bigint FROM generate_series(1, %s) AS i", (BOARD, done, count))
        done += count
    await db.execute("ANALYZE leaderboard_record")


async def _warm(url: str) -> tuple[LeaderboardService, Database, float]:
    files, flags = parse_flags(["--database.address", url])
    db = Database(url, min_size=1, max_size=2)
    await db.connect()
    service = LeaderboardService(db, load_config(files, flags, environ={}))
    started = time.perf_counter()
    await service.start()
    return service, db, time.perf_counter() - started


async def _measure(url: str, records: int, trace: bool) -> None:
    db = Database(url, min_size=1, max_size=2)
    await db.connect()
    try:
        await migrate_up(db)
        started = time.perf_counter()
        await _fill(db, records)
        print(f"filled {records:,} records in {time.perf_counter() - started:.1f} s")
    finally:
        await db.close()

    gc.collect()
    rss_before = _rss_bytes()
    service, pool, seconds = await _warm(url)
    gc.collect()
    rss_after = _rss_bytes()
    held = len(service.ranks.buckets[(BOARD, 0)])
    rss_delta = rss_after - rss_before
    print(f"warm-up: {held:,} records in {seconds:.2f} s ({held / seconds:,.0f} records/s)")
    print(f"resident memory: +{rss_delta / 2**20:.1f} MiB ({rss_delta / max(held, 1):.0f} bytes/record),"
          f" process total {rss_after / 2**20:.1f} MiB")
    await service.close()
    await pool.close()
    del service
    gc.collect()
    if trace:
        tracemalloc.start()
        service, pool, _ = await _warm(url)
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"tracemalloc: {current / 2**20:.1f} MiB held ({current / max(held, 1):.0f} bytes/record),"
              f" peak {peak / 2**20:.1f} MiB during the load")
        await service.close()
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/rank_warm.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000, help="records in the leaderboard")
    parser.add_argument("--admin-url", default=os.environ.get("NAKAMA_PY_BENCH_PG",
                                                              "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="a PostgreSQL where a scratch database may be created")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure Python allocations")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("--records must be at least 1")
    name = f"nakama_py_rank_warm_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"cannot create a scratch database at {args.admin_url}: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_measure(_with_database(args.admin_url, name), args.records, args.tracemalloc))
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
