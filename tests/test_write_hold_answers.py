"""The hold of core/node_sync.py at the two places a client's answer leaves: HTTP (wire/middleware.py,
aiohttp and the fast lane alike) and the socket's ``rpc``. A player writes through one node and reads their
standing through another, over the wire: always fresh, proven at once, and the write's answer waited."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.state import STATE, ServerState, build_state
from tests.support.modules import write_module
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

BOARD = f"hold-{uuid.uuid4().hex[:8]}"
MODULE = f"""
    import json

    async def put(ctx, logger, nk, payload):
        await nk.leaderboard_record_write({BOARD!r}, ctx.user_id, ctx.username, json.loads(payload)["score"])
        return "{{}}"

    def init_module(ctx, logger, nk, initializer):
        initializer.register_rpc("put", put)
"""
Nodes = tuple[TestClient[Any, Any], TestClient[Any, Any]]


@pytest.fixture
async def nodes(make_config: Callable[..., Config], own_database: str, tmp_path: Path,
                aiohttp_client: Callable[..., Any]) -> AsyncIterator[Nodes]:
    """Two nodes on the NATS bus, each serving HTTP, with the module that writes."""
    write_module(tmp_path / "modules", "put.py", MODULE)
    flags = ("--database.address", own_database, "--runtime.path", str(tmp_path / "modules"),
             "--cluster.nats_url", "nats://127.0.0.1:4222", "--cluster.nats_prefix", f"hold{secrets.token_hex(4)}")
    states: list[ServerState] = []
    try:
        for name in ("node1", "node2"):
            states.append(await build_state(make_config("--name", name, *flags), own_database))
        await states[0].leaderboards.create(BOARD, operator="set")  # every write changes the record
        await states[1].leaderboards.create(BOARD)
        yield (await aiohttp_client(WireTestServer(build_app(states[0]))),
               await aiohttp_client(WireTestServer(build_app(states[1]))))
    finally:
        for state in reversed(states):
            await state.close()


def state_of(node: TestClient[Any, Any]) -> ServerState:
    state: ServerState = node.app[STATE]
    return state


async def own_standing(node: TestClient[Any, Any], user: TestUser) -> tuple[int, int]:
    """(rank, score) of the player's own record, read over HTTP like listLeaderboardRecords does."""
    response = await node.get(f"/v2/leaderboard/{BOARD}", params={"owner_ids": user.user_id, "limit": "1"},
                              headers=user.auth)
    assert response.status == 200
    owned = (await response.json()).get("owner_records", [])
    return (int(owned[0]["rank"]), int(owned[0]["score"])) if owned else (0, 0)


async def test_writes_over_http_are_read_fresh_and_at_once_on_the_other_node(nodes: Nodes) -> None:
    first, second = nodes
    leader, player = await create_user(state_of(first)), await create_user(state_of(first))
    response = await first.post("/v2/rpc/put", json=json.dumps({"score": 100}), headers=leader.auth)
    assert response.status == 200
    reader = state_of(second).leaderboards.node_sync
    writer = state_of(first).leaderboards.node_sync
    assert reader is not None and writer is not None
    await own_standing(second, player)  # the second node's players read: the first node now holds
    at_once, fallbacks, answers = reader.at_once, reader.fallbacks, []
    for step in range(16):
        score = 150 + step if step % 2 else 50 + step  # above the leader's 100, then below
        began = time.monotonic()
        response = await first.post("/v2/rpc/put", json=json.dumps({"score": score}), headers=player.auth)
        assert response.status == 200
        answers.append(time.monotonic() - began)
        assert await own_standing(second, player) == (1 if score > 100 else 2, score)
    assert reader.fallbacks == fallbacks
    assert reader.at_once - at_once >= 12
    assert min(answers) >= writer.hold  # each write changed the record: its answer was held


async def test_an_rpc_over_the_socket_is_answered_after_the_hold(nodes: Nodes) -> None:
    first, second = nodes
    player = await create_user(state_of(first))
    writer = state_of(first).leaderboards.node_sync
    assert writer is not None
    await own_standing(second, player)
    socket = JsonSocket(await first.ws_connect(f"/ws?token={player.token}"))
    held = writer.held
    for score in (10, 20, 30):
        began = time.monotonic()
        reply = await socket.request({"rpc": {"id": "put", "payload": json.dumps({"score": score})}})
        assert "rpc" in reply, reply
        assert time.monotonic() - began >= writer.hold
        assert await own_standing(second, player) == (1, score)
    assert writer.held - held == 3
    await socket.ws.close()
