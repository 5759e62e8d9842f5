"""Many writers at once: no lost update, no duplicate, no deadlock; idempotent writes
with one key write once and give identical receipts; the per-owner rate limit."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from nakama_py.errors import Code, RateLimitedError
from nakama_py.state import ServerState


def new_id() -> str:
    return f"conc-{uuid.uuid4().hex[:12]}"


async def open_connections(state: ServerState, count: int = 12) -> None:
    """Grow the pool first, so the writers below really run at the same time."""
    await asyncio.gather(*(state.db.execute("SELECT pg_sleep(0.1)") for _ in range(count)))


async def test_concurrent_increments_lose_nothing(state: ServerState) -> None:
    board = new_id()
    leaderboards = state.leaderboards
    await leaderboards.create(board, operator="incr")
    owners = [str(uuid.uuid4()) for _ in range(12)]
    await open_connections(state)
    # Every owner's first writes race each other (the insert path) and then the update path.
    jobs = [leaderboards.write_record(board, owner, username=f"u{i}", score=i + 1, subscore=1)
            for i, owner in enumerate(owners) for _ in range(15)]
    await asyncio.wait_for(asyncio.gather(*jobs), 120)
    result = await leaderboards.list_records(board, limit=100, owner_ids=owners)
    assert {(r.owner_id, r.score, r.subscore, r.num_score) for r in result.owner_records} == {
        (owner, 15 * (i + 1), 15, 15) for i, owner in enumerate(owners)}
    # The ranks in memory agree with the database's order.
    assert [(e.owner_id, e.rank) for e in leaderboards.top(board, 100).entries] == [
        (r.owner_id, r.rank) for r in result.records]


async def test_concurrent_best_writes_keep_the_best(state: ServerState) -> None:
    board = new_id()
    await state.leaderboards.create(board, operator="best", sort_order="asc")
    owner = str(uuid.uuid4())
    values = list(range(500, 400, -1))
    await open_connections(state)
    await asyncio.gather(*(state.leaderboards.write_record(board, owner, score=v, subscore=1000 - v) for v in values))
    entry = state.leaderboards.rank_of(board, owner)
    assert entry is not None and (entry.score, entry.subscore) == (401, 500)


async def test_one_key_written_concurrently_writes_once_with_identical_receipts(state: ServerState) -> None:
    board = new_id()
    leaderboards = state.leaderboards
    await leaderboards.create(board, operator="incr", authoritative=True)
    owner = str(uuid.uuid4())
    others = [str(uuid.uuid4()) for _ in range(5)]
    for i, other in enumerate(others):
        await leaderboards.write_record(board, other, score=10 * (i + 1))
    await open_connections(state)
    receipts = await asyncio.gather(*(leaderboards.write_record_once(board, owner, "race-1", score=25, username="me")
                                      for _ in range(25)))
    assert sum(not r.replayed for r in receipts) == 1
    first = next(r for r in receipts if not r.replayed)
    assert all((r.record, r.rank, r.updated, r.submitted_score) == (first.record, first.rank, first.updated, 25)
               for r in receipts)
    assert (first.record.score, first.record.num_score, first.rank) == (25, 1, 4)
    stored = await leaderboards.list_records(board, owner_ids=[owner])
    assert [(r.score, r.num_score) for r in stored.owner_records] == [(25, 1)]
    replay = await leaderboards.write_record_once(board, owner, "race-1", score=999)
    assert replay.replayed and replay.record == first.record and replay.submitted_score == 25


async def test_different_keys_of_one_owner_each_write(state: ServerState) -> None:
    board = new_id()
    await state.leaderboards.create(board, operator="incr")
    owner = str(uuid.uuid4())
    await open_connections(state)
    receipts = await asyncio.gather(*(state.leaderboards.write_record_once(board, owner, f"k{i}", score=1)
                                      for i in range(20)))
    assert not any(r.replayed for r in receipts)
    assert sorted(r.record.num_score for r in receipts) == list(range(1, 21))
    entry = state.leaderboards.rank_of(board, owner)
    assert entry is not None and entry.score == 20


async def test_rate_limit_counts_accepted_writes_not_replays(state: ServerState) -> None:
    board = new_id()
    leaderboards = state.leaderboards
    await leaderboards.create(board, operator="best", sort_order="asc")
    owner, other = str(uuid.uuid4()), str(uuid.uuid4())
    limit = (3, 2)
    for i in range(3):
        await leaderboards.write_record_once(board, owner, f"lap-{i}", score=100 - i, rate_limit=limit)
    for i in range(3):  # replays are answered and do not count
        replay = await leaderboards.write_record_once(board, owner, f"lap-{i}", score=1, rate_limit=limit)
        assert replay.replayed and replay.submitted_score == 100 - i
    with pytest.raises(RateLimitedError) as refused:
        await leaderboards.write_record_once(board, owner, "lap-3", score=50, rate_limit=limit)
    assert refused.value.code == Code.RESOURCE_EXHAUSTED and 0 < refused.value.retry_after <= 2
    entry = leaderboards.rank_of(board, owner)
    assert entry is not None and entry.score == 98  # the refused write changed nothing
    # Another owner has a window of their own.
    await leaderboards.write_record_once(board, other, "lap-0", score=70, rate_limit=limit)
    await asyncio.sleep(refused.value.retry_after + 0.2)
    accepted = await leaderboards.write_record_once(board, owner, "lap-3", score=50, rate_limit=limit)
    assert not accepted.replayed and accepted.record.score == 50 and accepted.rank == 1


async def test_keys_are_forgotten_after_their_ttl_and_purged(state: ServerState) -> None:
    board = new_id()
    leaderboards = state.leaderboards
    await leaderboards.create(board, operator="incr")
    owner = str(uuid.uuid4())
    first = await leaderboards.write_record_once(board, owner, "short", score=5, ttl_seconds=1)
    assert not first.replayed
    await asyncio.sleep(1.2)
    # The stored receipt is past its time but not purged yet: the key writes again.
    again = await leaderboards.write_record_once(board, owner, "short", score=5, ttl_seconds=1)
    assert not again.replayed and again.record.score == 10
    await leaderboards.write_record_once(board, owner, "other", score=1, ttl_seconds=1)
    await asyncio.sleep(1.2)
    assert await leaderboards.purge_expired_receipts(batch_size=1) >= 2
    left = await state.db.fetchval(
        "SELECT count(*) FROM nakama_py_leaderboard_receipt WHERE leaderboard_id = %s", (board,))
    assert left == 0
