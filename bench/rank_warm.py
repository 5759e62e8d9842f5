"""``python bench/rank_warm.py --records 1000000``: how long a server process takes to warm the
rank structure of a leaderboard with that many records, and the memory it holds.

A benchmark helper, not part of the package: it drives the server's leaderboard service
directly (``nakama-py bench`` only speaks the wire API), so it lives beside the Locust file.

It makes a scratch database on the PostgreSQL at ``--admin-url`` (dropped afterwards),
fills one leaderboard with random records, then builds a LeaderboardService as a server
process does at start-up and reports how long ``start()`` takes (what a server waits
before it serves: flat in the data, the warm-up runs in the background), a few reads answered
by the database while the big bucket is still warming, the background warm-up time and the
growth of the process's resident memory; with ``--tracemalloc`` it warms a second time under tracemalloc and
reports the bytes Python allocated for the structure (tracemalloc slows the load, so that
run's time is not reported).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import secrets
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import psycopg

from nakama_py.config import load_config, parse_flags
from nakama_py.core.leaderboards import LeaderboardService
from nakama_py.db.migrations import migrate_up
from nakama_py.db.pool import Database

BOARD = "bench_rank_warm"
SMALL = "bench_rank_small"  # a small board beside the big one: its reads and writes must not slow down
SMALL_RECORDS = 1_000
FILL_BATCH = 200_000
TIMED = 200


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


async def _fill(db: Database, records: int) -> None:
    for board, size in ((BOARD, records), (SMALL, SMALL_RECORDS)):
        await db.execute("INSERT INTO leaderboard (id, sort_order, operator) VALUES (%s, 0, 0)", (board,))
        done = 0
        while done < size:
            count = min(FILL_BATCH, size - done)
            await db.execute(
                "INSERT INTO leaderboard_record (leaderboard_id, owner_id, username, score, subscore, metadata)"
                " SELECT %s, gen_random_uuid(), 'racer_' || (%s + i), (random() * 3600000)::bigint,"
                " (random() * 1000)::bigint, '{\"car\": \"red\"}' FROM generate_series(1, %s) AS i",
                (board, done, count))
            done += count
    await db.execute("ANALYZE leaderboard_record")


async def _timed(label: str, calls: list[Callable[[], Awaitable[object]]]) -> None:
    """Percentiles of each call's microseconds, run one after the other."""
    spent = []
    for call in calls:
        started = time.perf_counter()
        await call()
        spent.append(time.perf_counter() - started)
    spent.sort()
    p50, p90, p99 = (1e6 * spent[min(len(spent) - 1, int(len(spent) * q))] for q in (0.5, 0.9, 0.99))
    print(f"  {label:50} p50 {p50:7.0f} us  p90 {p90:7.0f} us  p99 {p99:7.0f} us")


async def _reads_and_writes(service: LeaderboardService, db: Database) -> None:
    """Client reads (the REST list and haystack, served from the ranks in memory) and writes, on the big
    board and on the small one, in the same process."""
    rng = random.Random(1)
    for board in (BOARD, SMALL):
        size = len(service.ranks.buckets[(board, 0)])
        owners = [str(r[0]) for r in await db.fetch(
            "SELECT owner_id FROM leaderboard_record WHERE leaderboard_id = %s LIMIT 1000", (board,))]
        print(f"{board} ({size:,} records):")

        def top(b: str = board, viewer: str = owners[0]) -> Awaitable[object]:
            return service.list_records(b, limit=100, caller=viewer)

        def page(cursor: str, b: str = board, viewer: str = owners[0]) -> Callable[[], Awaitable[object]]:
            return lambda: service.list_records(b, limit=100, cursor=cursor, caller=viewer)

        def around(owner: str, b: str = board) -> Callable[[], Awaitable[object]]:
            return lambda: service.haystack(b, owner, limit=20, caller=owner)

        def write(owner: str, b: str = board) -> Callable[[], Awaitable[object]]:
            return lambda: service.write_record(b, owner, score=rng.randrange(3_600_000))

        await _timed("list top 100 (kept reply)", [top] * TIMED)
        cursors = [await service.cursor_from_rank(board, rng.randrange(2, size)) for _ in range(TIMED)]
        await _timed("list 100 at a random rank (records read once)", [page(c) for c in cursors])
        await _timed("list 100 at the same ranks again (records known)", [page(c) for c in cursors])
        await _timed("haystack of 20 around a random owner", [around(o) for o in rng.sample(owners, TIMED)])
        await _timed("write (upsert + rank update)", [write(o) for o in rng.sample(owners, TIMED)])


async def _warm(url: str, report: bool = False) -> tuple[LeaderboardService, Database, float]:
    files, flags = parse_flags(["--database.address", url])
    db = Database(url, min_size=1, max_size=2)
    await db.connect()
    service = LeaderboardService(db, load_config(files, flags, environ={}))
    started = time.perf_counter()
    await service.start()
    if report:
        print(f"start-up (start() returns, serving): {1000 * (time.perf_counter() - started):.1f} ms,"
              f" {service.warming_buckets()} bucket(s) warming")
        await _while_warming(service, db)
    await service.warmed()
    return service, db, time.perf_counter() - started


async def _while_warming(service: LeaderboardService, db: Database) -> None:
    """One of each read of the big board right after start-up, while its bucket may still be warming."""
    owner = str((await db.fetch("SELECT owner_id FROM leaderboard_record WHERE leaderboard_id = %s LIMIT 1",
                                (BOARD,)))[0][0])
    reads: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("top 100", lambda: service.read_top(BOARD, 100)),
        ("rank of one owner", lambda: service.read_rank(BOARD, owner)),
        ("REST list top 100", lambda: service.list_records(BOARD, limit=100, caller=owner)),
        ("REST haystack of 20", lambda: service.haystack(BOARD, owner, limit=20, caller=owner))]
    for label, read in reads:
        warming = service.warming_buckets() > 0
        started = time.perf_counter()
        await read()
        print(f"  {label:20} {1000 * (time.perf_counter() - started):8.1f} ms"
              f" ({'database, bucket warming' if warming else 'memory'})")


async def _measure(url: str, records: int, trace: bool, reads: bool) -> None:
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
    service, pool, seconds = await _warm(url, report=True)
    gc.collect()
    rss_after = _rss_bytes()
    held = sum(len(bucket) for bucket in service.ranks.buckets.values())
    rss_delta = rss_after - rss_before
    print(f"warm-up (background): {held:,} records in {seconds:.2f} s ({held / seconds:,.0f} records/s)")
    print(f"resident memory: +{rss_delta / 2**20:.1f} MiB ({rss_delta / max(held, 1):.0f} bytes/record),"
          f" process total {rss_after / 2**20:.1f} MiB")
    if reads:
        await _reads_and_writes(service, pool)
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
    parser.add_argument("--reads", action="store_true",
                        help="also time client reads and writes on the big board and on a 1,000-record one")
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
        asyncio.run(_measure(_with_database(args.admin_url, name), args.records, args.tracemalloc, args.reads))
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
