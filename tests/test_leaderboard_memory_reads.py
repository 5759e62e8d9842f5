"""The REST list and haystack routes served from the in-memory ranks give, byte for byte, the
replies the database-served path gives, over randomized boards: both orders, resetting and
never-resetting boards, past buckets, metadata, subscores, ties, usernames changed after the
write, deleted records, cursors walked both ways, owner filters and haystacks."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from nakama_py.core.leaderboard_memory import MemoryReads
from nakama_py.db import record_partitions
from nakama_py.state import ServerState
from tests.conftest import HttpClient
from tests.support.users import TestUser, create_user

Reply = tuple[int, bytes]


class Compare:
    """Sends each request once served from memory and once from the database; both must match."""

    def __init__(self, state: ServerState, client: HttpClient, viewer: TestUser) -> None:
        self.state = state
        self.client = client
        self.viewer = viewer
        reader = state.leaderboards.reads
        assert reader.memory is not None
        self.memory: MemoryReads = reader.memory
        self.database_pages = 0
        page = reader._page

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.database_pages += 1
            return await page(*args, **kwargs)

        reader._page = counted  # type: ignore[method-assign]
        self.compared = 0

    async def _get(self, path: str, params: list[tuple[str, str]]) -> Reply:
        response = await self.client.get(path, params=params, headers=self.viewer.auth)
        return response.status, await response.read()

    async def get(self, path: str, params: list[tuple[str, str]]) -> Reply:
        reader = self.state.leaderboards.reads
        reader.memory = None
        from_database = await self._get(path, params)
        reader.memory = self.memory
        from_memory = await self._get(path, params)
        assert from_memory == from_database, (path, params)
        self.compared += 1
        return from_memory


def metadata(rng: random.Random) -> str | None:
    choice = rng.randrange(4)
    if choice == 0:
        return None
    if choice == 1:
        return "{}"
    return orjson.dumps({"lap": rng.randrange(100), "car": rng.choice(["ä-1", "b<2>", "c&3"]),
                         "splits": [rng.random() for _ in range(rng.randrange(3))]}).decode()


async def fill(state: ServerState, rng: random.Random, board: str, users: list[TestUser]) -> None:
    for user in users:
        for _ in range(rng.randrange(1, 3)):
            await state.leaderboards.write_record(board, user.user_id, username=user.username,
                                                  score=rng.randrange(6), subscore=rng.randrange(3),
                                                  metadata=metadata(rng))
    # Usernames changed after the write: the record keeps the old one until its next write.
    for user in rng.sample(users, 8):
        await state.db.execute("UPDATE users SET username = %s WHERE id = %s",
                               ("renamed" + uuid.uuid4().hex[:8], user.user_id))
    for user in rng.sample(users, 4):
        await state.leaderboards.write_record(board, user.user_id, username="again" + user.username[:6],
                                              score=rng.randrange(6), subscore=rng.randrange(3),
                                              metadata=metadata(rng), override_operator=2)  # set
    for user in rng.sample(users, 3):
        await state.leaderboards.delete_record(board, user.user_id)


async def walk(compare: Compare, path: str, rng: random.Random, extra: list[tuple[str, str]]) -> None:
    """Every page forwards with a random limit, then back from the last one."""
    limit = str(rng.choice([1, 3, 7, 100]))
    status, body = await compare.get(path, [("limit", limit), *extra])
    assert status == 200
    cursors = []
    while True:
        cursor = orjson.loads(body).get("next_cursor")
        if not cursor:
            break
        cursors.append(cursor)
        status, body = await compare.get(path, [("limit", limit), ("cursor", cursor), *extra])
    back = orjson.loads(body).get("prev_cursor")
    for _ in range(3):
        if not back:
            break
        status, body = await compare.get(path, [("limit", rng.choice(["2", limit])), ("cursor", back), *extra])
        back = orjson.loads(body).get("prev_cursor")


async def probe_board(compare: Compare, rng: random.Random, board: str, users: list[TestUser],
                      extra: list[tuple[str, str]]) -> None:
    path = f"/v2/leaderboard/{board}"
    await walk(compare, path, rng, extra)
    strangers = [str(uuid.uuid4())]
    for _ in range(6):
        owners = [u.user_id for u in rng.sample(users, rng.randrange(1, 6))] + rng.sample(strangers, rng.randrange(2))
        owners += owners[:1]  # a duplicate
        params = [("owner_ids", o) for o in owners]
        if rng.random() < 0.5:
            params.append(("limit", str(rng.choice([1, 5, 50]))))
        await compare.get(path, params + extra)
    for user in [*rng.sample(users, 8), users[0]]:
        limit = str(rng.randrange(1, 21))
        _status, body = await compare.get(f"{path}/owner/{user.user_id}", [("limit", limit), *extra])
        reply = orjson.loads(body)
        for name in ("next_cursor", "prev_cursor"):
            if reply.get(name):
                await compare.get(f"{path}/owner/{user.user_id}", [("limit", limit), ("cursor", reply[name]),
                                                                    *extra])
    await compare.get(f"{path}/owner/{uuid.uuid4()}", extra)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_memory_served_replies_match_the_database(state: ServerState, client: HttpClient,
                                                        user_factory: Callable[..., Any], seed: int) -> None:
    rng = random.Random(seed)
    board = f"memory-{seed}"
    await state.leaderboards.create(board, authoritative=True, sort_order=rng.choice(["asc", "desc"]),
                                    operator=rng.choice(["best", "set", "incr"]),
                                    reset_schedule=rng.choice([None, "0 0 * * *"]))
    users = [await create_user(state) for _ in range(45)]
    compare = Compare(state, client, users[0])
    await fill(state, rng, board, users)
    await probe_board(compare, rng, board, users, [])

    # Served from memory, pages cost no database page query once their records are known.
    before = compare.database_pages
    for _ in range(3):
        await compare._get(f"/v2/leaderboard/{board}", [("limit", "100")])
    assert compare.database_pages == before
    assert compare.compared > 25

    # A record changed behind the ranks' back (as if its write had not reached this process yet):
    # the memory path sees the other version in the database and serves the database's page.
    changed = users[1].user_id
    await state.db.execute("UPDATE leaderboard_record SET num_score = num_score + 1, metadata = '{\"x\": 1}'"
                           " WHERE leaderboard_id = %s AND owner_id = %s", (board, changed))
    compare.memory._details.clear()  # nothing kept from before: the records are read again
    compare.memory._memos.clear()
    await compare.get(f"/v2/leaderboard/{board}", [("owner_ids", changed)])
    await compare.get(f"/v2/leaderboard/{board}", [("limit", "100")])
    assert compare.database_pages > before


async def test_a_past_bucket_in_memory_matches_the_database(state: ServerState, client: HttpClient) -> None:
    rng = random.Random(7)
    board = "memory-past"
    await state.leaderboards.create(board, authoritative=True, sort_order="desc", reset_schedule="0 0 * * *")
    users = [await create_user(state) for _ in range(30)]
    past = int((datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
                - timedelta(days=1)).timestamp())
    await record_partitions.ensure(state.db, datetime.fromtimestamp(past, UTC))  # written around the server
    for user in users:
        await state.db.execute(
            "INSERT INTO leaderboard_record (leaderboard_id, owner_id, username, score, subscore, metadata,"
            " expiry_time, num_score) VALUES (%s, %s, %s, %s, %s, %s, to_timestamp(%s), %s)",
            (board, user.user_id, user.username, rng.randrange(5), rng.randrange(2), metadata(rng) or "{}", past,
             rng.randrange(1, 4)))
    compare = Compare(state, client, users[0])
    extra = [("expiry", str(past))]
    await probe_board(compare, rng, board, users, extra)  # not in memory: both from the database
    assert await state.leaderboards.load_bucket(board, past) == 30
    before = compare.database_pages
    await probe_board(compare, rng, board, users, extra)
    await compare._get(f"/v2/leaderboard/{board}", [("limit", "10"), *extra])
    assert compare.database_pages - before < compare.compared  # the memory path answered
