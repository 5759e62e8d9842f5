"""Storage under concurrent writers on the real database: no lost update, no duplicate, no deadlock."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from nakama_py.core.storage import StorageObjectId, StorageService, StorageWrite
from nakama_py.errors import StorageVersionConflict
from nakama_py.state import ServerState
from tests.support import users

WRITERS = 12


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


async def test_if_match_writers_never_lose_an_update(state: ServerState, user_factory: Callable[..., Any]) -> None:
    """Writers race read-modify-write on one counter with if-match versions: per version exactly one wins."""
    storage: StorageService = state.storage
    owner: users.TestUser = await user_factory()
    col = "conc" + uuid.uuid4().hex[:8]
    start = orjson.dumps({"n": 0, "by": ""}).decode()
    await storage.write([StorageWrite(col, "counter", start)], caller=owner.user_id)
    winners: dict[str, list[str]] = {}  # version written over -> writers that succeeded
    rejections = 0

    async def writer(name: str, rounds: int) -> int:
        nonlocal rejections
        done = 0
        for _ in range(rounds * WRITERS * 20):  # bounded: a livelock fails instead of hanging
            if done == rounds:
                break
            [current] = await storage.read([StorageObjectId(col, "counter", owner.user_id)], caller=owner.user_id)
            value = orjson.loads(current.value)
            new = orjson.dumps({"n": value["n"] + 1, "by": name}).decode()
            try:
                # Half the writers are clients, half the runtime (which must name the owner).
                await storage.write([StorageWrite(col, "counter", new, user_id=owner.user_id, version=current.version)],
                                    caller=owner.user_id if len(name) % 2 else None)
            except StorageVersionConflict:
                rejections += 1
                continue
            winners.setdefault(current.version, []).append(name)
            done += 1
        return done

    rounds = 8
    results = await asyncio.gather(*(writer(f"w{i}" + "x" * (i % 2), rounds) for i in range(WRITERS)))
    assert results == [rounds] * WRITERS
    [final] = await storage.read([StorageObjectId(col, "counter", owner.user_id)], caller=None)
    assert orjson.loads(final.value)["n"] == WRITERS * rounds  # every accepted update is in the count
    assert all(len(names) == 1 for names in winners.values())  # one winner per version
    assert len(winners) == WRITERS * rounds
    assert rejections > 0  # the writers really did collide


async def test_many_writers_with_one_stale_version_have_one_winner(state: ServerState,
                                                                   user_factory: Callable[..., Any]) -> None:
    storage: StorageService = state.storage
    owner: users.TestUser = await user_factory()
    col = "conc" + uuid.uuid4().hex[:8]
    for attempt in range(5):
        [ack] = await storage.write([StorageWrite(col, "k", f'{{"round":{attempt}}}')], caller=owner.user_id)

        async def race(i: int, version: str = ack.version, attempt: int = attempt) -> bool:
            try:
                await storage.write([StorageWrite(col, "k", f'{{"round":{attempt},"writer":{i}}}', version=version)],
                                    caller=owner.user_id)
                return True
            except StorageVersionConflict:
                return False

        outcomes = await asyncio.gather(*(race(i) for i in range(WRITERS * 2)))
        assert outcomes.count(True) == 1
        [obj] = await storage.read([StorageObjectId(col, "k", owner.user_id)], caller=None)
        assert orjson.loads(obj.value)["writer"] == outcomes.index(True)


async def test_create_only_races_have_one_winner(state: ServerState, user_factory: Callable[..., Any]) -> None:
    storage: StorageService = state.storage
    owner: users.TestUser = await user_factory()
    col = "conc" + uuid.uuid4().hex[:8]

    async def create(i: int) -> bool:
        try:
            await storage.write([StorageWrite(col, "once", f'{{"w":{i}}}', user_id=owner.user_id, version="*")])
            return True
        except StorageVersionConflict:
            return False

    outcomes = await asyncio.gather(*(create(i) for i in range(WRITERS * 2)))
    assert outcomes.count(True) == 1


async def test_overlapping_batches_in_any_order_do_not_deadlock(state: ServerState,
                                                                user_factory: Callable[..., Any]) -> None:
    """Batches over the same keys, each submitted in its own random order: all commit, no deadlock,
    and each object exists once with the value of one whole batch."""
    storage: StorageService = state.storage
    owners: list[users.TestUser] = [await user_factory() for _ in range(2)]
    col = "conc" + uuid.uuid4().hex[:8]
    keys = [(f"k{i}", owners[i % 2].user_id) for i in range(10)]
    rng = random.Random(5)

    async def batch_writer(w: int, rounds: int) -> None:
        for r in range(rounds):
            order = keys[:]
            rng.shuffle(order)
            acks = await storage.write([StorageWrite(col, key, f'{{"batch":"{w}-{r}"}}', user_id=owner)
                                        for key, owner in order])
            assert [(a.key, a.user_id) for a in acks] == order

    await asyncio.wait_for(asyncio.gather(*(batch_writer(w, 6) for w in range(WRITERS))), timeout=120)
    rows = await state.db.fetch("SELECT key, user_id::text, value->>'batch' FROM storage WHERE collection = %s",
                                (col,))
    assert sorted((k, u) for k, u, _ in rows) == sorted(keys)  # once each
    # Batches are atomic and serialised by the row locks: the last one to commit wrote every object.
    assert len({batch for _, _, batch in rows}) == 1


async def test_overlapping_create_only_batches_are_all_or_nothing(state: ServerState,
                                                                  user_factory: Callable[..., Any]) -> None:
    """Create-only batches over overlapping key sets, in random orders: every object is created once,
    by a batch that succeeded whole; batches that lost wrote nothing."""
    storage: StorageService = state.storage
    owner: users.TestUser = await user_factory()
    col = "conc" + uuid.uuid4().hex[:8]
    rng = random.Random(7)
    universe = [f"k{i:02d}" for i in range(24)]
    batches = [rng.sample(universe, 5) for _ in range(WRITERS * 3)]

    async def attempt(b: int) -> bool:
        try:
            await storage.write([StorageWrite(col, key, f'{{"batch":{b}}}', version="*") for key in batches[b]],
                                caller=owner.user_id)
            return True
        except StorageVersionConflict:
            return False

    won = await asyncio.wait_for(asyncio.gather(*(attempt(b) for b in range(len(batches)))), timeout=120)
    rows = await state.db.fetch("SELECT key, (value->>'batch')::int FROM storage WHERE collection = %s", (col,))
    assert Counter(key for key, _ in rows).most_common(1)[0][1] == 1  # no duplicates
    winners = {b for b, ok in enumerate(won) if ok}
    assert winners and {b for _, b in rows} == winners  # only winners wrote
    for b in winners:  # and each winner wrote all of its keys
        assert {key for key, owner_batch in rows if owner_batch == b} == set(batches[b])
