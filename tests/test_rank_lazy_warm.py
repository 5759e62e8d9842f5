"""Start-up does not wait for ranks: a ranked board's current bucket warms in the background, and
until it is in memory its reads are answered by the database with the same answers the ranks give
once warm (``top``/``rank_of`` tell "not loaded yet" from "empty")."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from nakama_py.config import load_config, parse_flags
from nakama_py.core import leaderboards as leaderboards_module
from nakama_py.core.leaderboards import BucketWarming, LeaderboardService
from nakama_py.db.pool import Database

BOARD = "lazy_warm"
RECORDS = 3_000


@pytest.fixture
async def db(own_database: str) -> AsyncIterator[Database]:
    database = Database(own_database, min_size=1, max_size=4)
    await database.connect()
    try:
        yield database
    finally:
        await database.close()


def service_on(db: Database) -> LeaderboardService:
    files, flags = parse_flags(["--database.address", db.conninfo])
    return LeaderboardService(db, load_config(files, flags, environ={}))


async def fill(db: Database) -> list[str]:
    """A descending board with RECORDS records and many ties (few scores, few subscores)."""
    writer = service_on(db)
    await writer.create(BOARD, sort_order="desc", operator="best")
    await writer.create("lazy_empty", sort_order="desc", operator="best")
    await db.execute(
        "INSERT INTO leaderboard_record (leaderboard_id, owner_id, username, score, subscore, metadata)"
        " SELECT %(board)s, gen_random_uuid(), 'racer_' || i, (i * 7919) %% 300, i %% 3, '{}'"
        " FROM generate_series(1, %(n)s) AS i", {"board": BOARD, "n": RECORDS})
    await db.execute("ANALYZE leaderboard_record")
    rows = await db.fetch("SELECT owner_id::text FROM leaderboard_record WHERE leaderboard_id = %(b)s ORDER BY 1",
                          {"b": BOARD})
    return [str(r[0]) for r in rows]


async def answers(service: LeaderboardService, owners: list[str]) -> dict[str, object]:
    """Every read that needs ranks, as a client and as the runtime would make it."""
    some, reader = owners[::997], owners[5]
    listed = await service.list_records(BOARD, owner_ids=some, limit=10, caller=reader)
    hay = await service.haystack(BOARD, owners[17], limit=10, caller=owners[17])
    hay_db = await service.haystack(BOARD, owners[18], limit=7)
    runtime_list = await service.list_records(BOARD, owner_ids=some)
    return {
        "top": await service.read_top(BOARD, 25),
        "rank": [await service.read_rank(BOARD, o) for o in some],
        "list": ([(r.owner_id, r.rank) for r in listed.records], [(r.owner_id, r.rank) for r in listed.owner_records],
                 listed.rank_count, listed.next_cursor),
        "haystack": ([(r.owner_id, r.rank) for r in hay.records], hay.rank_count, hay.next_cursor, hay.prev_cursor),
        "haystack_runtime": ([(r.owner_id, r.rank) for r in hay_db.records], hay_db.rank_count),
        "runtime_list": [(r.owner_id, r.rank) for r in runtime_list.owner_records],
        "cursor_from_rank": await service.cursor_from_rank(BOARD, 1234),
    }


async def test_reads_while_warming_match_the_warm_ranks(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    owners = await fill(db)
    # Small batches keep the warm-up going for many round trips, so the reads below meet it warming.
    monkeypatch.setattr(leaderboards_module, "WARM_BATCH", 25)
    service = service_on(db)
    await service.start()
    try:
        # start() returned before reading any record: the bucket is warming, and that is not "empty".
        assert service.warming_buckets() == 2
        assert (BOARD, 0) not in service.ranks.buckets
        with pytest.raises(BucketWarming):
            service.top(BOARD, 10)
        with pytest.raises(BucketWarming):
            service.rank_of(BOARD, owners[0])
        cold = await answers(service, owners)
        still_warming = service.warming_buckets() > 0

        newcomer = str(uuid.uuid4())
        await service.write_record(BOARD, newcomer, score=10_000)  # queued for the loaded copy if still warming

        await service.warmed()
        assert service.warming_buckets() == 0
        assert len(service.ranks.buckets[(BOARD, 0)]) == RECORDS + 1
        top = service.top(BOARD, 2)
        assert top.entries[0].owner_id == newcomer and top.entries[0].rank == 1 and top.total == RECORDS + 1
        await service.delete_record(BOARD, newcomer)

        warm = await answers(service, owners)
        assert cold == warm
        top_db = cold["top"]
        assert top_db.total == RECORDS and [e.rank for e in top_db.entries] == list(range(1, 26))  # type: ignore[attr-defined]
        assert still_warming, "the warm-up ended before the reads: make it slower (WARM_BATCH)"

        # A ranked board with no records is empty once warm: top answers at once, without an error.
        empty = service.top("lazy_empty", 10)
        assert empty.entries == [] and empty.total == 0
    finally:
        await service.close()


async def test_empty_board_is_not_warming(db: Database) -> None:
    service = service_on(db)
    await service.start()
    try:
        await service.create("made_after_start", sort_order="asc")
        assert service.warming_buckets() == 0
        assert service.top("made_after_start", 5).entries == []
        assert service.rank_of("made_after_start", str(uuid.uuid4())) is None
    finally:
        await service.close()
