"""``leaderboard_record`` partitioned by day of expiry (sql/0009): a database created by Nakama keeps
its rows and names through the migration and back, writes create their day's partition, and an
expired day of one board is dropped whole while the other boards' rows and the current bucket stay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from nakama_py.config import Config
from nakama_py.db import record_partitions
from nakama_py.db.migrations import load_migrations, migrate_down, migrate_up
from nakama_py.db.pool import Database
from nakama_py.state import ServerState, build_state
from tests.support.database import create_database, drop_database
from tests.support.users import create_user

PARTITIONING = "0009_leaderboard_record_partitions"
ROWS = [  # (board, score, expiry)
    ("b1", 5, "1970-01-01 00:00:00+00"), ("b1", 6, "2020-01-01 12:00:00+00"), ("b2", 7, "2020-01-02 00:00:00+00"),
    ("b2", 8, "2020-01-01 23:59:59.999999+00"), ("b1", 9, "2031-06-30 10:00:00+00")]


@pytest.fixture
async def nakama_db() -> AsyncIterator[Database]:
    """A database as Nakama leaves it (its schema, 0001, and the others before partitioning), with records."""
    url = create_database("nakama_py_parts")
    db = Database(url, min_size=1, max_size=4)
    await db.connect()
    try:
        before = [m for m in load_migrations() if m.id < PARTITIONING]
        await migrate_up(db, before)
        await db.execute("INSERT INTO leaderboard (id) VALUES ('b1'), ('b2')")
        for board, score, expiry in ROWS:
            await db.execute("INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, expiry_time)"
                             " VALUES (%s, gen_random_uuid(), %s, %s)", (board, score, expiry))
        yield db
    finally:
        await db.close()
        drop_database(url)


async def records(db: Database) -> list[tuple[str, int, datetime, str]]:
    rows = await db.fetch("SELECT leaderboard_id, score, expiry_time, tableoid::regclass::text FROM leaderboard_record"
                          " ORDER BY score")
    return [(str(b), int(s), e, str(t)) for b, s, e, t in rows]


async def shape(db: Database) -> tuple[str, set[str]]:
    """The table's kind (p: partitioned, r: plain) and its constraint and index names."""
    kind = await db.fetchval("SELECT relkind::text FROM pg_class WHERE oid = 'leaderboard_record'::regclass")
    names = await db.fetch("SELECT conname FROM pg_constraint WHERE conrelid = 'leaderboard_record'::regclass"
                           " UNION SELECT indexrelid::regclass::text FROM pg_index"
                           " WHERE indrelid = 'leaderboard_record'::regclass")
    return str(kind), {str(n) for (n,) in names}


async def test_a_nakama_database_keeps_its_records_and_names_both_ways(nakama_db: Database) -> None:
    db = nakama_db
    plain = await records(db)
    kind, names = await shape(db)
    assert kind == "r"
    assert await migrate_up(db) == [m.id for m in load_migrations() if m.id >= PARTITIONING]
    parted = await records(db)
    assert [r[:3] for r in parted] == [r[:3] for r in plain]
    assert [r[3] for r in parted] == ["leaderboard_record_p_epoch", "leaderboard_record_p20200101",
                                      "leaderboard_record_p20200102", "leaderboard_record_p20200101",
                                      "leaderboard_record_p20310630"]
    assert await shape(db) == ("p", names)
    # Nakama's upsert target still works on the partitioned table.
    owner = await db.fetchval("SELECT owner_id FROM leaderboard_record WHERE score = 6")
    await db.execute("INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, expiry_time)"
                     " VALUES ('b1', %s, 60, '2020-01-01 12:00:00+00') ON CONFLICT (owner_id, leaderboard_id,"
                     " expiry_time) DO UPDATE SET score = excluded.score", (owner,))
    assert await db.fetchval("SELECT count(*) FROM leaderboard_record WHERE owner_id = %s", (owner,)) == 1

    later = [m.id for m in load_migrations() if m.id >= PARTITIONING]
    assert await migrate_down(db, limit=len(later)) == list(reversed(later))
    back = await records(db)
    assert sorted(r[:3] for r in back) == sorted([r[:3] for r in plain if r[1] != 6] + [("b1", 60, plain[1][2])])
    assert await shape(db) == ("r", names)


@pytest.fixture
async def state(make_config: Callable[..., Config], own_database: str) -> AsyncIterator[ServerState]:
    built = await build_state(make_config("--database.address", own_database), own_database)
    try:
        yield built
    finally:
        await built.close()


async def partitions(state: ServerState) -> set[str]:
    rows = await state.db.fetch("SELECT inhrelid::regclass::text FROM pg_inherits"
                                " WHERE inhparent = 'leaderboard_record'::regclass")
    return {str(r) for (r,) in rows}


async def fill(state: ServerState, board: str, expiry: str, rows: int) -> None:
    await state.db.execute("SELECT nakama_py_record_partition((%s::timestamptz AT TIME ZONE 'UTC')::date)", (expiry,))
    await state.db.execute("INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, expiry_time)"
                           " SELECT %s, gen_random_uuid(), n, %s FROM generate_series(1, %s) n", (board, expiry, rows))


async def test_an_expired_day_of_one_board_is_dropped_whole(state: ServerState) -> None:
    daily = await state.leaderboards.create("daily", reset_schedule="0 0 * * *")
    await state.leaderboards.create("other")
    player = await create_user(state)
    await state.leaderboards.write_record("daily", player.user_id, score=10)  # its first write makes its day
    tomorrow = datetime.fromtimestamp(daily.current_expiry(), UTC)
    today_partition = f"leaderboard_record_p{tomorrow:%Y%m%d}"
    assert today_partition in await partitions(state)

    await fill(state, "daily", "2020-03-01 00:00:00+00", 5000)  # a day of its own
    await fill(state, "daily", "2020-03-02 00:00:00+00", 300)  # a day shared with another board
    await fill(state, "other", "2020-03-02 06:00:00+00", 200)
    deleted = await state.leaderboards.delete_expired_buckets("daily", tomorrow - timedelta(days=1), batch_size=100)
    assert deleted == 5300
    left = await partitions(state)
    assert "leaderboard_record_p20200301" not in left  # dropped whole
    assert "leaderboard_record_p20200302" in left  # kept for the other board, rows deleted
    counts: dict[str, int] = dict(
        await state.db.fetch("SELECT leaderboard_id, count(*) FROM leaderboard_record GROUP BY 1"))
    assert counts == {"daily": 1, "other": 200}
    # The current bucket is untouched and still takes writes.
    written = await state.leaderboards.write_record("daily", player.user_id, score=20)
    assert written.score == 20


async def test_first_writes_of_a_new_day_from_many_processes_at_once(state: ServerState, own_database: str) -> None:
    """Processes writing a new day's first records at once (each its own handle): one creates the
    partition, every write lands."""
    handles = [Database(own_database, min_size=1, max_size=4) for _ in range(4)]
    for handle in handles:
        await handle.connect()
    try:
        expiry = datetime(2041, 5, 6, 7, tzinfo=UTC)
        await asyncio.gather(*(record_partitions.ensure(h, expiry) for h in handles for _ in range(3)))
        assert "leaderboard_record_p20410506" in await partitions(state)
    finally:
        for handle in handles:
            await handle.close()


async def test_a_key_violated_in_a_partition_is_named_as_the_tables(state: ServerState) -> None:
    """PostgreSQL names the partition's index (``leaderboard_record_p_epoch_pkey``); the writers' retry on a
    racing insert looks for the table's primary key, so db/errors.py reports that name."""
    from nakama_py.db.errors import UniqueViolation

    await state.leaderboards.create("keyed")
    owner = str(uuid.uuid4())
    insert = ("INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, subscore, expiry_time)"
              " VALUES ('keyed', %s, 5, 1, %s)")
    for expiry in ("1970-01-01 00:00:00+00", "2033-02-03 04:00:00+00"):
        await state.db.execute("SELECT nakama_py_record_partition((%s::timestamptz AT TIME ZONE 'UTC')::date)",
                               (expiry,))
        await state.db.execute(insert, (owner, expiry))
        with pytest.raises(UniqueViolation) as raised:
            await state.db.execute(insert, (owner, expiry))
        assert raised.value.constraint == "leaderboard_record_pkey"
