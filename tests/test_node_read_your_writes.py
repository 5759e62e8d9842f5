"""Read-your-writes across nodes: with another node alive, a player's standing read on this node
includes their writes taken by the other node at once, even before the bus brings them."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable

import orjson
import pytest

from nakama_py.config import Config
from nakama_py.core import node_sync
from nakama_py.core.node_sync import WANT_INTERVAL_SEC
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


@pytest.fixture
async def nats_nodes(make_config: Callable[..., Config], own_database: str) -> AsyncIterator[Nodes]:
    """Two nodes on the NATS bus, where the bus proves read-your-writes (core/node_sync.py)."""
    nats = nats_flags()
    first = await build_state(make_config("--name", "node1", "--database.address", own_database, *nats), own_database)
    second = await build_state(make_config("--name", "node2", "--database.address", own_database, *nats), own_database)
    try:
        yield first, second
    finally:
        await second.close()
        await first.close()


def nats_flags() -> tuple[str, ...]:
    return "--cluster.nats_url", "nats://127.0.0.1:4222", "--cluster.nats_prefix", f"ryw{secrets.token_hex(4)}"


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


async def answered_write(state: ServerState, board: str, user_id: str, score: int) -> float:
    """A write as a client's request makes it: answered once the node's hold (core/node_sync.py) has
    passed, as the HTTP and socket layers do. How long the answer took, in seconds."""
    since = time.monotonic()
    await state.leaderboards.write_record(board, user_id, score=score)
    hold = state.leaderboards.answer_hold()
    if hold is not None:
        await hold(since)
    return time.monotonic() - since


async def own_rank(state: ServerState, board: str, user_id: str) -> int:
    listed = await state.leaderboards.list_records(board, owner_ids=[user_id], caller=user_id)
    return listed.owner_records[0].rank if listed.owner_records else 0


async def test_a_write_on_one_node_is_the_writers_standing_on_the_other_at_once(nodes: Nodes) -> None:
    first, second = nodes
    assert {info.node for info in second.bus.alive()} == {"node1", "node2"}  # membership, through the bus
    assert second.leaderboards.node_sync is None  # on PostgreSQL's bus: the primary check
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


def slow_publisher(state: ServerState, delay: float) -> None:
    """Every rank message of this node reaches the others ``delay`` seconds late, in order (a slow bus)."""
    publisher = state.leaderboards.publisher
    send = publisher._send

    async def late_send(payloads: list[bytes]) -> None:
        await asyncio.sleep(delay)
        await send(payloads)

    publisher._send = late_send  # type: ignore[method-assign]


async def test_the_bus_proves_a_fresh_standing_without_the_primary(nats_nodes: Nodes) -> None:
    """The fast path: the second node serves the writer's standing from what the bus brought, never
    from the primary, and is never stale, though every change of the first node arrives 0.2 s late:
    it waits for the first node's ack, which comes behind the change."""
    first, second = nodes = nats_nodes
    board, _ = await live_board(nodes)
    sync = second.leaderboards.node_sync
    assert sync is not None
    sync.bound = 2.0  # the slow bus answers in about 0.2 s: within the bound
    slow_publisher(first, 0.2)
    player = await create_user(first)
    fallbacks, proven = sync.fallbacks, sync.proven
    for score, rank in ((50, 2), (150, 1), (60, 2), (200, 1)):
        await answered_write(first, board, player.user_id, score)
        assert await own_rank(second, board, player.user_id) == rank
    assert sync.fallbacks == fallbacks
    assert sync.proven == proven + 4  # each waited for an ack: the acks in hand are older than the hold


async def test_lost_rank_messages_fall_back_to_the_primary(nats_nodes: Nodes) -> None:
    """A message of the first node that never arrives (its connection was down) leaves a gap in its
    numbering: the second node takes no ack as proof until it has rebuilt its ranks from the database
    (or asks the primary), so the lost write still shows at once."""
    first, second = nodes = nats_nodes
    board, _ = await live_board(nodes)
    sync = second.leaderboards.node_sync
    assert sync is not None
    sync.bound = 2.0
    publisher = first.leaderboards.publisher
    send = publisher._send
    lost: list[bytes] = []

    async def lossy_send(payloads: list[bytes]) -> None:
        if not lost:  # the first message is lost, its number used
            lost.extend(payloads)
            publisher._sequence += len(payloads)
            return
        await send(payloads)

    publisher._send = lossy_send  # type: ignore[method-assign]
    slow_publisher(first, 0.2)
    player = await create_user(first)
    other = await create_user(first)
    await answered_write(first, board, player.user_id, 50)  # lost on the bus
    await asyncio.sleep(0.05)  # cut into its own message
    await answered_write(first, board, other.user_id, 10)
    assert await own_rank(second, board, player.user_id) == 2
    assert lost


async def live_board(nodes: Nodes) -> tuple[str, str]:
    """A board both nodes know (scores set as written) with a leader (score 100) the second node has heard of."""
    first, second = nodes
    board = f"ryw-{uuid.uuid4().hex[:8]}"
    await first.leaderboards.create(board, operator="set")
    await second.leaderboards.create(board)
    leader = await create_user(first)
    await first.leaderboards.write_record(board, leader.user_id, score=100)
    deadline = time.monotonic() + 5
    while await own_rank(second, board, leader.user_id) != 1:
        assert time.monotonic() < deadline, "the second node never heard of the leader"
        await asyncio.sleep(0.01)
    return board, leader.user_id


async def test_a_deaf_node_on_nats_falls_back_to_the_primary(nats_nodes: Nodes) -> None:
    """No ack can come to a node whose bus is down: after the bound it asks the primary, still fresh."""
    first, second = nats_nodes
    board, _ = await deaf_board(nats_nodes)
    player = await create_user(first)
    await answered_write(first, board, player.user_id, 150)
    sync = second.leaderboards.node_sync
    assert sync is not None
    fallbacks = sync.fallbacks
    assert await own_rank(second, board, player.user_id) == 1
    assert sync.fallbacks == fallbacks + 1


async def test_a_held_answer_lets_the_other_node_prove_a_standing_at_once(nats_nodes: Nodes) -> None:
    """The hold: the first node answers a write 25 ms (cluster.write_hold_ms) after its change, since the
    second node's players read; the second node then proves the writer's standing from acks it already
    holds, with no wait and no primary read, and is never stale."""
    first, second = nodes = nats_nodes
    board, _ = await live_board(nodes)
    sync, writer = second.leaderboards.node_sync, first.leaderboards.node_sync
    assert sync is not None and writer is not None and writer.hold == 0.025
    player = await create_user(first)
    at_once, fallbacks, held = sync.at_once, sync.fallbacks, writer.held
    answers = []
    for step in range(20):
        score = 150 if step % 2 else 50
        answers.append(await answered_write(first, board, player.user_id, score))
        assert await own_rank(second, board, player.user_id) == (1 if score > 100 else 2)
    assert sync.fallbacks == fallbacks
    assert sync.at_once - at_once >= 15  # a read now and then may still wait (a loaded machine's late ack)
    assert writer.held - held == 20
    assert min(answers) >= writer.hold  # what the writer pays: its answer waits the hold


async def test_without_readers_elsewhere_a_write_is_answered_at_once(nats_nodes: Nodes) -> None:
    """No hold while no other node's players have read lately: the hold costs only where it is relied on."""
    first, second = nats_nodes
    board = f"ryw-{uuid.uuid4().hex[:8]}"
    await first.leaderboards.create(board)
    writer = first.leaderboards.node_sync
    assert writer is not None
    player = await create_user(first)
    took = await answered_write(first, board, player.user_id, 10)
    assert writer.held == 0
    assert took < writer.hold
    # Once the second node's players read, the first node holds its answers.
    await own_rank(second, board, player.user_id)
    await answered_write(first, board, player.user_id, 20)
    assert writer.held == 1


async def test_the_processes_of_a_node_share_one_stream_of_wants(make_config: Callable[..., Config],
                                                                 own_database: str) -> None:
    """Two processes of the second node (its workers) read the writer's standing after every write: each
    proves it from acks to either's wants, and the node sends about one want an interval, not one per
    process (core/node_sync.py: one node, one stream of wants). Never stale, never the primary."""
    nats = nats_flags()
    writer = await build_state(make_config("--name", "node1", "--database.address", own_database, *nats),
                               own_database)
    config = make_config("--name", "node2", "--database.address", own_database, *nats)
    readers = [await build_state(config, own_database), await build_state(config, own_database)]
    try:
        board, _ = await live_board((writer, readers[0]))
        await readers[1].leaderboards.create(board)
        syncs = [sync for reader in readers if (sync := reader.leaderboards.node_sync) is not None]
        assert len(syncs) == 2
        player = await create_user(writer)
        began = time.monotonic()
        sent = [sync.wants_sent for sync in syncs]
        at_once = [sync.at_once for sync in syncs]
        for step in range(40):
            score = 150 if step % 2 else 50
            await answered_write(writer, board, player.user_id, score)
            for reader in readers:
                assert await own_rank(reader, board, player.user_id) == (1 if score > 100 else 2)
        intervals = (time.monotonic() - began) / WANT_INTERVAL_SEC
        wants = sum(sync.wants_sent for sync in syncs) - sum(sent)
        assert wants <= 1.15 * intervals + 5, (wants, intervals)  # one process alone sends one an interval
        assert all(sync.fallbacks == 0 for sync in syncs)
        assert all(sync.at_once - before >= 30 for sync, before in zip(syncs, at_once, strict=True))
    finally:
        for state in (*readers, writer):
            await state.close()


def counted_payloads(state: ServerState) -> list[bytes]:
    """Every rank message this node publishes from now on (the publisher's own sending, counted)."""
    publisher = state.leaderboards.publisher
    send = publisher._send
    sent: list[bytes] = []

    async def counting_send(payloads: list[bytes]) -> None:
        sent.extend(payloads)
        await send(payloads)

    publisher._send = counting_send  # type: ignore[method-assign]
    return sent


async def test_two_reading_nodes_send_one_message_an_interval_each(nats_nodes: Nodes) -> None:
    """Players read on both nodes, so each node sends a want every interval and answers the other's: the
    ack of a periodic want rides in the node's own next want, one message an interval each (not a want
    and an ack apart). Every standing stays right, and most reads are proven at once from acks in hand."""
    first, second = nodes = nats_nodes
    board, _ = await live_board(nodes)
    players = [await create_user(first), await create_user(second)]
    await answered_write(first, board, players[0].user_id, 50)
    await answered_write(second, board, players[1].user_id, 150)
    syncs = [sync for state in nodes if (sync := state.leaderboards.node_sync) is not None]
    assert len(syncs) == 2
    for state, player, rank in ((second, players[0], 3), (first, players[1], 1)):  # both bring the other's writes
        deadline = time.monotonic() + 5
        while await own_rank(state, board, player.user_id) != rank:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    counted = [counted_payloads(first), counted_payloads(second)]
    at_once = [sync.at_once for sync in syncs]
    began = time.monotonic()
    while time.monotonic() - began < 1.0:
        assert await own_rank(first, board, players[0].user_id) == 3
        assert await own_rank(second, board, players[1].user_id) == 1
        assert await own_rank(first, board, players[1].user_id) == 1
        assert await own_rank(second, board, players[0].user_id) == 3
        await asyncio.sleep(0.002)
    intervals = (time.monotonic() - began) / WANT_INTERVAL_SEC
    for sent in counted:
        wants = sum(1 for payload in sent if b'["n"' in payload)
        acks = sum(1 for payload in sent if b'["k"' in payload)
        assert wants >= 0.5 * intervals and acks >= 0.5 * intervals, (wants, acks, intervals)  # both kept going
        assert len(sent) <= 1.25 * intervals + 5, (len(sent), intervals)  # one message an interval, not two
    assert all(sync.fallbacks == 0 for sync in syncs)
    assert all(sync.at_once - before > 0 for sync, before in zip(syncs, at_once, strict=True))


async def test_only_a_want_a_request_waits_for_is_acked_at_once(nats_nodes: Nodes,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """As the rank topic brings them: a periodic want (flag 0) is owed until the node's next message or
    an interval (made 5 s here); a want a request waits for (flag 1), or one of an older peer that does
    not say (no flag), is acked at once."""
    monkeypatch.setattr(node_sync, "WANT_INTERVAL_SEC", 5.0)
    first, second = nats_nodes
    sent = counted_payloads(first)
    follower, asker = first.leaderboards.follower, second.bus.process

    async def acked(number: int) -> bool:
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            if any(b'"%s",%d,' % (asker.encode(), number) in payload and b'["k"' in payload for payload in sent):
                return True
            await asyncio.sleep(0.005)
        return False

    follower.on_message(peer_payload(asker, 1, ["n", "node2", asker, 7, time.monotonic(), 0]))
    assert not await acked(7)  # owed, for the next message of this node
    follower.on_message(peer_payload(asker, 2, ["n", "node2", asker, 8, time.monotonic(), 1]))
    assert await acked(8)
    follower.on_message(peer_payload(asker, 3, ["n", "node2", asker, 9, time.monotonic()]))
    assert await acked(9)


def peer_payload(process: str, sequence: int, event: list[object]) -> bytes:
    """A rank message as another process publishes it (core/rank_sync.py)."""
    return orjson.dumps({"n": sequence, "p": process, "e": [event]})
