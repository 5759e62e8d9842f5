"""The leaderboard page queries walk the primary key in order: a page costs the same on a board of
a hundred records as on one of a hundred thousand (no scan and sort of the whole bucket)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nakama_py.db import leaderboards as sql
from nakama_py.db import record_partitions
from nakama_py.state import ServerState


@pytest.mark.parametrize("ascending", [True, False])
async def test_a_page_is_read_in_index_order(state: ServerState, ascending: bool) -> None:
    board = f"plan-{'asc' if ascending else 'desc'}"
    await state.leaderboards.create(board, sort_order="asc" if ascending else "desc", reset_schedule="0 0 * * *")
    expiry = datetime(2030, 1, 1, tzinfo=UTC)
    await record_partitions.ensure(state.db, expiry)  # written around the server: make its day
    await state.db.execute(
        "INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, expiry_time)"
        " SELECT %s, gen_random_uuid(), n %% 1000, %s FROM generate_series(1, 5000) n", (board, expiry))
    await state.db.execute("ANALYZE leaderboard_record")
    queries = [
        (sql._PAGE + (sql._ASC if ascending else sql._DESC), {"board_id": board, "expiry": expiry, "limit": 101}),
        (sql._PAGE + (sql._AFTER + sql._ASC if ascending else sql._BEFORE + sql._DESC),
         {"board_id": board, "expiry": expiry, "score": 500, "subscore": 0,
          "owner_id": "00000000-0000-0000-0000-000000000000", "limit": 101}),
    ]
    for query, params in queries:
        plan = "\n".join(row[0] for row in await state.db.fetch("EXPLAIN " + query, params))
        # The primary key's index of the bucket's one day partition (the others pruned), no sort.
        assert f"leaderboard_record_p{expiry:%Y%m%d}_pkey" in plan and plan.count("Index Scan") == 1, plan
        assert "Sort" not in plan, plan
    rows = await sql.record_page(state.db, board, expiry, 50, ascending, None)
    keys = [(r.score, r.owner_id) for r in rows]
    assert len(rows) == 50
    assert [r.score for r in rows] == sorted((r.score for r in rows), reverse=not ascending)
    assert len(set(keys)) == 50
