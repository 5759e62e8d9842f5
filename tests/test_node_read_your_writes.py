"""Read-your-writes across nodes: with another node alive, a player's standing read on this node
includes their writes taken by the other node at once, even before the bus brings them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from nakama_py.config import Config
from nakama_py.state import ServerState, build_state
from tests.support.users import create_user

Nodes = tuple[ServerState, ServerState]


@pytest.fixture
async def nodes(make_config: Callable[..., Config], own_database: str) -> AsyncIterator[Nodes]:
    """Two nodes on a database of their own (no other test's processes in its membership)."""
    first = await build_state(make_config("--name", "node1", "--database.address", own_database), own_database)
    second = await build_state(make_config("--name", "node2", "--database.address", own_database), own_database)
    try:
        yield first, second
    finally:
        await second.close()
        await first.close()


async def deaf_board(nodes: Nodes) -> tuple[str, str]:
    """A board both nodes know with a leader (score 100) the second node has heard of, after which
    the second node hears nothing more from the first: a bus slower than the player."""
    first, second = nodes
    board = f"ryw-{uuid.uuid4().hex[:8]}"
    await first.leaderboards.create(board)
    await second.leaderboards.create(board)  # returns the existing board and puts it in memory
    leader = await create_user(first)
    await first.leaderboards.write_record(board, leader.user_id, score=100)
    deadline = time.monotonic() + 5
    while await own_rank(second, board, leader.user_id) != 1:
        assert time.monotonic() < deadline, "the second node never heard of the leader"
        await asyncio.sleep(0.01)
    await second.bus.stop()  # deaf: a bus slower than the player
    return board, leader.user_id


async def own_rank(state: ServerState, board: str, user_id: str) -> int:
    listed = await state.leaderboards.list_records(board, owner_ids=[user_id], caller=user_id)
    return listed.owner_records[0].rank if listed.owner_records else 0


async def test_a_write_on_one_node_is_the_writers_standing_on_the_other_at_once(nodes: Nodes) -> None:
    first, second = nodes
    assert {info.node for info in second.bus.alive()} == {"node1", "node2"}  # membership, through the bus
    board, _ = await deaf_board(nodes)
    player = await create_user(first)
    await first.leaderboards.write_record(board, player.user_id, score=50)
    assert await own_rank(second, board, player.user_id) == 2
    await first.leaderboards.write_record(board, player.user_id, score=150)
    assert await own_rank(second, board, player.user_id) == 1


async def test_processes_of_one_node_keep_the_zero_cost_path(make_config: Callable[..., Config],
                                                              own_database: str) -> None:
    """The control: two processes of one node (same name, as the workers of a node are) do not
    check the primary (their write marks cover each other), so the deaf one stays behind."""
    config = make_config("--name", "samenode", "--database.address", own_database)
    first = await build_state(config, own_database)
    second = await build_state(config, own_database)
    try:
        board, _ = await deaf_board((first, second))
        player = await create_user(first)
        await first.leaderboards.write_record(board, player.user_id, score=50)
        assert await own_rank(second, board, player.user_id) == 0
    finally:
        await second.close()
        await first.close()
