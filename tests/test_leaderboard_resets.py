"""The reset scheduler: one handler call per reset of each scheduled board, with several
schedulers and several server processes on one database, after downtime (catch-up), and
when a process dies mid-handler (lease takeover)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nakama_py.config import Config
from nakama_py.core.leaderboard_schedule import InvalidSchedule, parse_schedule
from nakama_py.core.leaderboard_types import Leaderboard, from_unix
from nakama_py.core.leaderboards import BucketNotLoaded, LeaderboardService
from nakama_py.core.ranks import EXPIRED_GRACE_SEC
from nakama_py.db import record_partitions
from nakama_py.db.pool import Database
from nakama_py.scheduler.leaderboard_resets import ResetScheduler
from nakama_py.state import ServerState
from tests.support.server import REPO

EVERY_SECOND = "* * * * * * *"  # Nakama's 7-field form: second first, year last
Calls = list[tuple[str, str, int]]  # (scheduler node, board, reset)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, min_size=1, max_size=6)
    await database.connect()
    try:
        yield database
    finally:
        await database.close()


async def service(db: Database, config: Config) -> LeaderboardService:
    leaderboards = LeaderboardService(db, config)
    await leaderboards.start()
    await leaderboards.warmed()  # these tests look at the ranks in memory
    return leaderboards


def recorder(calls: Calls, node: str, *, delay: float = 0.0,
             only: str = "") -> Callable[[Leaderboard, int], Awaitable[None]]:
    """A handler noting its calls (for the board whose id starts with ``only``: the database
    is shared with other tests, whose scheduled boards fire too)."""
    async def handler(board: Leaderboard, reset: int) -> None:
        if not board.id.startswith(only):
            return
        calls.append((node, board.id, reset))
        if delay:
            await asyncio.sleep(delay)

    return handler


@contextlib.asynccontextmanager
async def running(*schedulers: ResetScheduler) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(s.run()) for s in schedulers]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def expected_resets(board: Leaderboard, until: float) -> list[int]:
    assert board.reset_schedule is not None
    return parse_schedule(board.reset_schedule).between(int(board.create_time.timestamp()), until, 10_000)


async def test_several_schedulers_fire_each_reset_once(db: Database, make_config: Callable[..., Config]) -> None:
    calls: Calls = []
    schedulers = []
    services = [await service(db, make_config()) for _ in range(3)]
    board = await services[0].create(f"resets-{uuid.uuid4().hex[:8]}", reset_schedule=EVERY_SECOND)
    quiet = await services[0].create(f"never-{uuid.uuid4().hex[:8]}")  # no schedule: never fires
    for index, leaderboards in enumerate(services):
        await leaderboards.refresh_boards()
        leaderboards.on_reset(recorder(calls, f"s{index}", only="resets-"))
        schedulers.append(ResetScheduler(db, leaderboards, poll_sec=0.2))
    async with running(*schedulers):
        await asyncio.sleep(4.5)
    ended = time.time()
    resets = [reset for _, board_id, reset in calls if board_id == board.id]
    assert len(resets) == len(set(resets)), "a reset fired twice"
    assert not [c for c in calls if c[1] == quiet.id]
    expected = expected_resets(board, ended - 1.5)
    assert len(expected) >= 3 and set(expected) <= set(resets)
    done = await db.fetch("SELECT count(*), count(done_time), max(attempts) FROM nakama_py_leaderboard_reset"
                          " WHERE leaderboard_id = %s", (board.id,))
    assert done[0][0] == done[0][1] == len(resets) and done[0][2] == 1
    await services[0].delete(board.id)
    await services[0].delete(quiet.id)
    for leaderboards in services:
        await leaderboards.close()


async def test_nothing_is_claimed_without_a_handler(db: Database, make_config: Callable[..., Config]) -> None:
    leaderboards = await service(db, make_config())
    board = await leaderboards.create(f"nohandler-{uuid.uuid4().hex[:8]}", reset_schedule=EVERY_SECOND)
    async with running(ResetScheduler(db, leaderboards, poll_sec=0.2)):
        await asyncio.sleep(2.2)
    claims = await db.fetchval("SELECT count(*) FROM nakama_py_leaderboard_reset WHERE leaderboard_id = %s",
                               (board.id,))
    assert claims == 0
    # Once a handler is registered, the resets missed meanwhile are fired.
    calls: Calls = []
    leaderboards.on_reset(recorder(calls, "late", only=board.id))
    async with running(ResetScheduler(db, leaderboards, poll_sec=0.2)):
        await asyncio.sleep(1.5)
    assert len(calls) >= 3 and sorted(r for *_, r in calls) == expected_resets(board, calls[-1][2])
    await leaderboards.delete(board.id)
    await leaderboards.close()


async def test_resets_missed_while_down_fire_once_when_back(db: Database, make_config: Callable[..., Config]) -> None:
    calls: Calls = []
    leaderboards = await service(db, make_config())
    board = await leaderboards.create(f"catchup-{uuid.uuid4().hex[:8]}", reset_schedule=EVERY_SECOND)
    leaderboards.on_reset(recorder(calls, "first", only=board.id))
    async with running(ResetScheduler(db, leaderboards, poll_sec=0.2)):
        await asyncio.sleep(2.0)
    first_run = [r for *_, r in calls]
    await asyncio.sleep(3.0)  # every scheduler is down
    restarted = await service(db, make_config())
    restarted.on_reset(recorder(calls, "second", only=board.id))
    async with running(ResetScheduler(db, restarted, poll_sec=0.2)):
        await asyncio.sleep(1.5)
    resets = [r for *_, r in calls]
    assert len(resets) == len(set(resets))
    assert resets == sorted(resets)  # oldest first
    assert resets == expected_resets(board, resets[-1])  # nothing skipped, the downtime included
    assert len(resets) - len(first_run) >= 3
    await leaderboards.delete(board.id)
    await leaderboards.close()
    await restarted.close()


HANGING_WORKER = """
import asyncio, sys, tempfile
from nakama_py.config import load_config, parse_flags
from nakama_py.core.leaderboards import LeaderboardService
from nakama_py.db.pool import Database
from nakama_py.scheduler.leaderboard_resets import ResetScheduler

url, target = sys.argv[1], sys.argv[2]

async def main():
    files, flags = parse_flags(["--database.address", url])
    db = Database(url, min_size=1, max_size=3)
    await db.connect()
    leaderboards = LeaderboardService(db, load_config(files, flags, environ={}))
    await leaderboards.start()
    async def hang(board, reset):
        if board.id == target:
            print(leaderboards.node, reset, flush=True)
            await asyncio.sleep(3600)  # starts, then never finishes
    leaderboards.on_reset(hang)
    await ResetScheduler(db, leaderboards, lease_sec=1.0, poll_sec=0.1).run()

asyncio.run(main())
"""


async def test_a_claim_left_by_a_dead_process_is_taken_over(db: Database, database_url: str,
                                                            make_config: Callable[..., Config]) -> None:
    calls: Calls = []
    rescuer = await service(db, make_config())
    board = await rescuer.create(f"lease-{uuid.uuid4().hex[:8]}", reset_schedule="*/3 * * * * * *")
    rescuer.on_reset(recorder(calls, "rescuer", only=board.id))
    doomed = await asyncio.create_subprocess_exec(sys.executable, "-c", HANGING_WORKER, database_url, board.id,
                                                  cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert doomed.stdout is not None
        line = (await asyncio.wait_for(doomed.stdout.readline(), 30)).decode()
        node, reset_text = line.split()
        reset = int(reset_text)
        # While the process lives it keeps renewing its lease: nobody else runs that reset.
        async with running(ResetScheduler(db, rescuer, lease_sec=1.0, poll_sec=0.1, stale_check_sec=0.2)):
            await asyncio.sleep(2.0)
            assert [c for c in calls if c[2] == reset] == []
            doomed.kill()  # the process dies mid-handler, leaving its claim behind
            await doomed.wait()
            await asyncio.sleep(2.5)
    finally:
        if doomed.returncode is None:
            doomed.kill()
            await doomed.wait()
    assert [c[0] for c in calls if c[2] == reset] == ["rescuer"]
    row = await db.fetchrow("SELECT attempts, done_time IS NOT NULL, claimed_by FROM nakama_py_leaderboard_reset"
                            " WHERE leaderboard_id = %s AND reset_time = to_timestamp(%s)", (board.id, reset))
    assert row == (2, True, rescuer.node) and node != rescuer.node
    await rescuer.delete(board.id)
    await rescuer.close()


async def test_a_failing_handler_is_retried_then_done(db: Database, make_config: Callable[..., Config]) -> None:
    attempts: list[int] = []
    leaderboards = await service(db, make_config())
    board = await leaderboards.create(f"retry-{uuid.uuid4().hex[:8]}", reset_schedule="*/5 * * * * * *")

    retried = asyncio.Event()

    async def flaky(lb: Leaderboard, reset: int) -> None:
        if lb.id != board.id:
            return
        attempts.append(reset)
        if attempts.count(reset) == 1:
            raise RuntimeError("database hiccup")
        retried.set()

    leaderboards.on_reset(flaky)
    async with running(ResetScheduler(db, leaderboards, poll_sec=0.1, stale_check_sec=0.2, retry_base_sec=0.25)):
        await asyncio.wait_for(retried.wait(), 15)
        await asyncio.sleep(0.3)  # the claim is marked done right after the handler returns
    first = attempts[0]
    assert attempts.count(first) == 2
    row = await db.fetchrow("SELECT attempts, done_time IS NOT NULL, last_error FROM nakama_py_leaderboard_reset"
                            " WHERE leaderboard_id = %s AND reset_time = to_timestamp(%s)", (board.id, first))
    assert row == (2, True, None)
    await leaderboards.delete(board.id)
    await leaderboards.close()


async def test_the_handler_reads_the_finished_period_from_memory(db: Database,
                                                                 make_config: Callable[..., Config]) -> None:
    leaderboards = await service(db, make_config())
    board = await leaderboards.create(f"finish-{uuid.uuid4().hex[:8]}", reset_schedule="*/2 * * * * * *",
                                      sort_order="asc")
    seen: dict[int, list[tuple[int, int]]] = {}
    finished = asyncio.Event()

    async def snapshot(lb: Leaderboard, reset: int) -> None:
        if lb.id != board.id:
            return
        top = leaderboards.top(lb.id, 10, expiry=reset)
        seen[reset] = [(e.rank, e.score) for e in top.entries]
        if reset == period:
            finished.set()

    leaderboards.on_reset(snapshot)
    period = board.next_reset()
    if period - time.time() < 0.8:  # leave time to write inside the period
        await asyncio.sleep(period - time.time() + 0.05)
        period = board.next_reset()
    for score in (30, 10, 20):
        record = await leaderboards.write_record(board.id, str(uuid.uuid4()), score=score)
        assert record.expiry_time is not None and int(record.expiry_time.timestamp()) == period
    async with running(ResetScheduler(db, leaderboards, poll_sec=0.1)):
        await asyncio.wait_for(finished.wait(), 10)
    assert seen[period] == [(1, 10), (2, 20), (3, 30)]
    await leaderboards.delete(board.id)
    await leaderboards.close()


# --- several server processes ---------------------------------------------------------

WORKER = """
import asyncio, sys, tempfile
from nakama_py.config import load_config, parse_flags
from nakama_py.state import build_state

url, table, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])

async def main():
    files, flags = parse_flags(["--database.address", url, "--logger.level", "warn",
                                "--runtime.path", tempfile.mkdtemp()])  # no game modules
    state = await build_state(load_config(files, flags, environ={}), url)
    async def handler(board, reset):
        if not board.id.startswith("procs-"):
            return
        await state.db.execute("INSERT INTO " + table + " (board, reset, node) VALUES (%s, %s, %s)",
                               (board.id, reset, state.leaderboards.node))
    state.leaderboards.on_reset(handler)
    print("ready", flush=True)
    await asyncio.sleep(seconds)
    await state.close()

asyncio.run(main())
"""


def start_worker(database_url: str, table: str, seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", WORKER, database_url, table, str(seconds)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise AssertionError(f"worker did not start: {line}{process.stderr.read() if process.stderr else ''}")
    return process


def stop_workers(*processes: subprocess.Popen[str]) -> None:
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.returncode == 0, process.stderr.read() if process.stderr else ""


async def test_two_server_processes_and_a_restart_fire_each_reset_once(db: Database, database_url: str,
                                                                      make_config: Callable[..., Config],
                                                                      tmp_path: Path) -> None:
    table = f"reset_calls_{uuid.uuid4().hex[:8]}"
    await db.execute("CREATE TABLE " + table + " (board TEXT, reset BIGINT, node TEXT)")
    leaderboards = await service(db, make_config())
    board = await leaderboards.create(f"procs-{uuid.uuid4().hex[:8]}", reset_schedule=EVERY_SECOND)
    try:
        first, second = start_worker(database_url, table, 5), start_worker(database_url, table, 5)
        await asyncio.to_thread(stop_workers, first, second)
        await asyncio.sleep(3)  # every process is down
        third = start_worker(database_url, table, 3)
        await asyncio.to_thread(stop_workers, third)
        ended = time.time()
        rows = await db.fetch("SELECT reset, node FROM " + table + " WHERE board = %s ORDER BY reset",
                              (board.id,))
        resets = [r[0] for r in rows]
        assert len(resets) == len(set(resets)), "a reset fired twice"
        assert resets == expected_resets(board, resets[-1])  # none missing, the downtime included
        assert resets[-1] >= ended - 5 and len(resets) >= 8
        assert len({r[1] for r in rows}) >= 2  # more than one process did the work
    finally:
        await db.execute("DROP TABLE IF EXISTS " + table)
        await leaderboards.delete(board.id)
        await leaderboards.close()


# --- schedules, buckets in memory, retention -------------------------------------------------


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("*/5 * * * *", "2024-05-15T12:00:00", "2024-05-15T12:05:00"),  # strictly after a reset time
    ("0 0 * * 1", "2024-05-15T12:00:00", "2024-05-20T00:00:00"),
    ("0 0 1 1 * 2030", "2024-05-15T12:00:00", "2030-01-01T00:00:00"),  # 6 fields: a year last
    ("30 0 0 1 1 * 2030", "2024-05-15T12:00:00", "2030-01-01T00:00:30"),  # 7 fields: seconds first
    ("@daily", "2024-05-15T12:00:00", "2024-05-16T00:00:00"),
    ("@weekly", "2024-05-15T12:00:00", "2024-05-19T00:00:00"),
    ("@monthly", "2024-05-15T12:00:00", "2024-06-01T00:00:00"),
    ("@hourly", "2024-05-15T12:00:00", "2024-05-15T13:00:00"),
    ("@yearly", "2024-05-15T12:00:00", "2025-01-01T00:00:00"),
    ("0 0 L * *", "2024-05-15T12:00:00", "2024-05-31T00:00:00"),
    ("0 0 * * 5L", "2024-05-15T12:00:00", "2024-05-31T00:00:00"),  # the last Friday
    ("0 0 * * 5#2", "2024-05-15T12:00:00", "2024-06-14T00:00:00"),
])
def test_cron_forms_are_read_as_nakama_reads_them(expression: str, after: str, expected: str) -> None:
    schedule = parse_schedule(expression)
    assert schedule.next_after(ts(after)) == ts(expected)
    assert schedule.last_at_or_before(ts(expected)) == ts(expected)
    assert schedule.last_at_or_before(ts(expected) - 1) < ts(expected)


def test_bad_and_finished_schedules() -> None:
    for bad in ("* * *", "61 * * * *", "every day", "@midnight", "x" * 65):
        with pytest.raises(InvalidSchedule):
            parse_schedule(bad)
    assert parse_schedule("0 0 1 1 * 2020").next_after(ts("2024-01-01T00:00:00")) == 0  # no reset left


async def test_expired_buckets_leave_memory_and_can_be_loaded_again(state: ServerState) -> None:
    leaderboards = state.leaderboards
    board = await leaderboards.create(f"trim-{uuid.uuid4().hex[:8]}", reset_schedule="*/5 * * * *")
    current = board.next_reset()
    past = current - 300
    owner = str(uuid.uuid4())
    await record_partitions.ensure(state.db, datetime.fromtimestamp(past, UTC))  # written around the server
    await state.db.execute("INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, expiry_time)"
                           " VALUES (%s, %s, 4, to_timestamp(%s))", (board.id, owner, past))
    with pytest.raises(BucketNotLoaded):
        leaderboards.top(board.id, 10, expiry=past)
    assert await leaderboards.load_bucket(board.id, past) == 1
    assert [(e.owner_id, e.rank) for e in leaderboards.top(board.id, 10, expiry=past).entries] == [(owner, 1)]
    rank = leaderboards.rank_of(board.id, owner, expiry=past)
    assert rank is not None and rank.score == 4
    await leaderboards.write_record(board.id, owner, score=9)
    assert leaderboards.ranks.trim_expired(time.time() + EXPIRED_GRACE_SEC + 1) == [(board.id, past)]
    with pytest.raises(BucketNotLoaded):
        leaderboards.rank_of(board.id, owner, expiry=past)
    entry = leaderboards.rank_of(board.id, owner)  # the current bucket stays
    assert entry is not None and entry.score == 9
    await leaderboards.delete(board.id)


async def test_delete_expired_buckets_in_batches(state: ServerState) -> None:
    leaderboards = state.leaderboards
    board = await leaderboards.create(f"retain-{uuid.uuid4().hex[:8]}", reset_schedule="*/5 * * * *")
    plain = await leaderboards.create(f"plain-{uuid.uuid4().hex[:8]}")
    current = board.next_reset()
    for age in (1, 2, 3):
        await record_partitions.ensure(state.db, datetime.fromtimestamp(current - 300 * age, UTC))
        await state.db.execute(
            "INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, expiry_time)"
            " SELECT %s, gen_random_uuid(), i, to_timestamp(%s) FROM generate_series(1, 7) i",
            (board.id, current - 300 * age))
    await leaderboards.load_bucket(board.id, current - 600)
    await leaderboards.write_record(board.id, str(uuid.uuid4()), score=1)
    await leaderboards.write_record(plain.id, str(uuid.uuid4()), score=1)
    # Buckets that expired before (current - 450): the two oldest, 14 records, 3 at a time.
    deleted = await leaderboards.delete_expired_buckets(board.id, from_unix(current - 450), batch_size=3)
    assert deleted == 14
    left = await state.db.fetch("SELECT extract(epoch FROM expiry_time)::bigint, count(*) FROM leaderboard_record"
                                " WHERE leaderboard_id = %s GROUP BY 1 ORDER BY 1", (board.id,))
    assert left == [(current - 300, 7), (current, 1)]
    assert (board.id, current - 600) not in leaderboards.ranks.buckets
    # The bucket of a board that never resets is never an expired one.
    assert await leaderboards.delete_expired_buckets(plain.id, from_unix(int(time.time()) + 10**6)) == 0
    assert leaderboards.top(plain.id, 5).total == 1
    await leaderboards.delete(board.id)
    await leaderboards.delete(plain.id)
