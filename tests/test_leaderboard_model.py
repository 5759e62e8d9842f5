"""The leaderboard core against a simple reference model (hypothesis).

For every operator and sort order, random writes (with operator overrides), deletes
and idempotent writes by a few owners with few distinct scores (so ties are common)
must leave the same records as the model, with the same ranks: in write responses,
receipts, ``top``, ``rank_of``, owner records, the haystack window, and pages walked
forward and back across the whole board with cursors.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nakama_py.config import load_config, parse_flags
from nakama_py.core.leaderboards import LeaderboardService
from nakama_py.db.pool import Database

OPERATORS = ("best", "set", "incr", "decr")
API_OVERRIDE = {1: "best", 2: "set", 3: "incr", 4: "decr"}
READER = str(uuid.uuid4())  # a client caller id, so list_records applies the REST rules


@dataclass
class Model:
    """Nakama's semantics, written as plainly as possible."""

    operator: str
    descending: bool
    records: dict[str, list[int]] = field(default_factory=dict)  # owner -> [score, subscore, num_score]
    receipts: dict[tuple[str, str], tuple[int, int, int, int]] = field(default_factory=dict)

    def write(self, owner: str, score: int, subscore: int, operator: str | None = None) -> None:
        op = operator or self.operator
        old = self.records.get(owner)
        if old is None:
            self.records[owner] = [0, 0, 1] if op == "decr" else [score, subscore, 1]
            return
        if op == "best":
            pick = max if self.descending else min
            new = [pick(old[0], score), pick(old[1], subscore)]
        elif op == "set":
            new = [score, subscore]
        elif op == "incr":
            new = [old[0] + score, old[1] + subscore] if (score or subscore) else old[:2]
        else:
            new = [max(old[0] - score, 0), max(old[1] - subscore, 0)] if (score or subscore) else old[:2]
        changed = new != old[:2] if op in ("best", "set") else bool(score or subscore)
        if changed:
            self.records[owner] = [new[0], new[1], old[2] + 1]

    def order(self) -> list[str]:
        def key(owner: str) -> tuple[int, int, bytes]:
            score, subscore, _ = self.records[owner]
            return score, subscore, uuid.UUID(owner).bytes

        return sorted(self.records, key=key, reverse=self.descending)

    def rank(self, owner: str) -> int:
        order = self.order()
        return order.index(owner) + 1 if owner in self.records else 0

    def haystack(self, owner: str, limit: int) -> list[str]:
        order = self.order()
        at = order.index(owner)
        above = min(at, limit)
        second = limit // 2 if above >= limit // 2 else limit - above
        below = min(len(order) - at - 1, second)
        window = order[at - above: at + 1 + below]
        start = len(window) - limit
        if start < 0 or above < second:
            start = 0
        return window[start: start + limit]


@pytest.fixture(scope="module")
def service(database_url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, LeaderboardService]]:
    """A leaderboard service on a loop of its own (hypothesis drives a plain function)."""
    loop = asyncio.new_event_loop()
    files, flags = parse_flags(["--database.address", database_url])
    db = Database(database_url, min_size=1, max_size=4)
    loop.run_until_complete(db.connect())
    leaderboards = LeaderboardService(db, load_config(files, flags, environ={}))
    loop.run_until_complete(leaderboards.start())
    try:
        yield loop, leaderboards
    finally:
        loop.run_until_complete(leaderboards.close())
        loop.run_until_complete(db.close())
        loop.close()


owners = st.lists(st.uuids(version=4).map(str), min_size=2, max_size=6, unique=True)
actions = st.lists(st.tuples(
    st.sampled_from(["write", "write", "write", "override", "delete", "once"]),
    st.integers(0, 5),  # owner index (modulo the owner count)
    st.integers(0, 4),  # score: few values, many ties
    st.integers(0, 2),  # subscore
    st.integers(1, 4),  # override operator (API enum) or idempotency key
), min_size=1, max_size=25)


@pytest.mark.parametrize("descending", [True, False], ids=["desc", "asc"])
@pytest.mark.parametrize("operator", OPERATORS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=owners, steps=actions, page=st.integers(1, 4), window=st.integers(1, 6))
def test_core_matches_the_model(service: tuple[asyncio.AbstractEventLoop, LeaderboardService], operator: str,
                                descending: bool, people: list[str], steps: list[tuple[str, int, int, int, int]],
                                page: int, window: int) -> None:
    loop, leaderboards = service
    loop.run_until_complete(_scenario(leaderboards, operator, descending, people, steps, page, window))


async def _scenario(leaderboards: LeaderboardService, operator: str, descending: bool, people: list[str],
                    steps: list[tuple[str, int, int, int, int]], page: int, window: int) -> None:
    board = f"model-{uuid.uuid4().hex[:12]}"
    await leaderboards.create(board, operator=operator, sort_order="desc" if descending else "asc")
    model = Model(operator, descending)
    for kind, who, score, subscore, extra in steps:
        owner = people[who % len(people)]
        if kind == "delete":
            await leaderboards.delete_record(board, owner)
            model.records.pop(owner, None)
            assert leaderboards.rank_of(board, owner) is None
            continue
        if kind == "once":
            key = f"key-{extra}"
            receipt = await leaderboards.write_record_once(board, owner, key, score=score, subscore=subscore)
            stored = model.receipts.get((owner, key))
            if stored is None:
                model.write(owner, score, subscore)
                score_now, subscore_now, num_score = model.records[owner]
                stored = model.receipts[(owner, key)] = (score_now, subscore_now, num_score, model.rank(owner))
                assert not receipt.replayed
            else:
                assert receipt.replayed
            got = (receipt.record.score, receipt.record.subscore, receipt.record.num_score, receipt.rank)
            assert got == stored
            continue
        override = extra if kind == "override" else 0
        record = await leaderboards.write_record(board, owner, score=score, subscore=subscore,
                                                 override_operator=override)
        model.write(owner, score, subscore, API_OVERRIDE.get(override))
        assert [record.score, record.subscore, record.num_score] == model.records[owner]
        assert record.rank == model.rank(owner)

    order = model.order()
    expected = [(o, *model.records[o][:2], i) for i, o in enumerate(order, start=1)]
    top = leaderboards.top(board, 100)
    assert top.total == len(order)
    assert [(e.owner_id, e.score, e.subscore, e.rank) for e in top.entries] == expected
    for owner in people:
        entry = leaderboards.rank_of(board, owner)
        assert (entry.rank if entry else 0) == model.rank(owner)

    # Whole board, forward with next cursors, then back with prev cursors: same records, same ranks.
    pages = [await leaderboards.list_records(board, limit=page, owner_ids=people, caller=READER)]
    assert [(r.owner_id, r.rank) for r in pages[0].owner_records] == [(o, model.rank(o)) for o in order]
    assert pages[0].rank_count == len(order)
    while pages[-1].next_cursor:
        pages.append(await leaderboards.list_records(board, limit=page, cursor=pages[-1].next_cursor,
                                                     caller=READER))
    walked = [(r.owner_id, r.score, r.subscore, r.rank) for p in pages for r in p.records]
    assert walked == expected
    backwards = [pages[-1]]
    while backwards[0].prev_cursor:
        backwards.insert(0, await leaderboards.list_records(board, limit=page, cursor=backwards[0].prev_cursor,
                                                            caller=READER))
    back = [(r.owner_id, r.score, r.subscore, r.rank) for p in backwards for r in p.records]
    assert back[: len(back) - len(pages[-1].records)] == expected[: len(back) - len(pages[-1].records)]
    assert back[-len(walked):] == walked[-len(back):]

    for owner in people:
        around = await leaderboards.haystack(board, owner, limit=window)
        if owner not in model.records:
            assert around.records == []
            continue
        assert [r.owner_id for r in around.records] == model.haystack(owner, window)
        assert [r.rank for r in around.records] == [model.rank(r.owner_id) for r in around.records]
