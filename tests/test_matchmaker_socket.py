"""The matchmaker on the socket, as Nakama clients see it: tickets, matched messages, errors, the
runtime's matchmaker-matched function, and tickets leaving with their socket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import Config
from nakama_py.core import match_tokens
from nakama_py.state import ServerState
from tests.support.modules import state_with_module
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

ConfigFactory = Callable[..., Config]
Client = TestClient[web.Request, web.Application]

MODULE = """
    import json

    SEEN = []

    async def matched(ctx, logger, nk, entries):
        SEEN.append({"mode": ctx.execution_mode, "entries": [
            {"ticket": e.ticket, "user_id": e.presence.user_id, "session_id": e.presence.session_id,
             "properties": e.properties, "party_id": e.party_id, "create_time": e.create_time} for e in entries]})
        kind = entries[0].properties.get("kind")
        if kind == "boom":
            raise RuntimeError("the hook failed")
        if kind == "authoritative":
            return "6b0f5b3e-6a3c-4d9e-9b1f-3c2a1d0e9f8a.nakama"
        return None

    async def seen(ctx, logger, nk, payload):
        return json.dumps(SEEN)

    def init_module(ctx, logger, nk, initializer):
        initializer.register_matchmaker_matched(matched)
        initializer.register_rpc("seen", seen)
"""


@pytest.fixture
async def mm_state(make_config: ConfigFactory, database_url: str, tmp_path: Path) -> AsyncIterator[ServerState]:
    async with state_with_module(make_config, database_url, tmp_path / "modules", "matched_module.py", MODULE,
                                 "--matchmaker.interval_sec", "1") as state:
        yield state


@pytest.fixture
async def mm_client(mm_state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(mm_state)))  # type: ignore[no-any-return]


async def player(client: Client, state: ServerState) -> tuple[TestUser, JsonSocket]:
    user = await create_user(state)
    return user, JsonSocket(await client.ws_connect(f"/ws?token={user.token}"))


def add(query: str, strings: dict[str, str] | None = None, numbers: dict[str, float] | None = None,
        min_count: int = 2, max_count: int = 2, **extra: Any) -> dict[str, Any]:
    return {"matchmaker_add": {"query": query, "min_count": min_count, "max_count": max_count,
                               "string_properties": strings or {}, "numeric_properties": numbers or {}, **extra}}


async def test_two_players_are_matched_with_a_relayed_match_token(mm_client: Client, mm_state: ServerState) -> None:
    alice, a = await player(mm_client, mm_state)
    bob, b = await player(mm_client, mm_state)
    ticket_a = (await a.request(add("+properties.region:eu", {"region": "eu"}, {"skill": 10})))["matchmaker_ticket"]
    ticket_b = (await b.request(add("+properties.region:eu", {"region": "eu"}, {"skill": 12})))["matchmaker_ticket"]
    got_a = await a.pushed_with("matchmaker_matched", timeout=5)
    got_b = await b.pushed_with("matchmaker_matched", timeout=5)

    assert got_a["ticket"] == ticket_a["ticket"] and got_b["ticket"] == ticket_b["ticket"]
    assert got_a["token"] == got_b["token"] and "match_id" not in got_a
    match_id = match_tokens.verify(got_a["token"], mm_state.config.session.encryption_key)
    assert match_id.endswith(".") and len(match_id) == 37  # "<uuid4>." : a relayed match
    assert got_a["self"]["presence"]["user_id"] == alice.user_id
    assert got_b["self"]["presence"]["session_id"] and got_b["self"]["presence"]["username"] == bob.username
    users = {u["presence"]["user_id"]: u for u in got_a["users"]}
    assert set(users) == {alice.user_id, bob.user_id}
    assert users[bob.user_id]["string_properties"] == {"region": "eu"}
    assert users[bob.user_id]["numeric_properties"] == {"skill": 12}


async def test_the_runtime_function_names_the_match_or_falls_back_to_a_token(
        mm_client: Client, mm_state: ServerState) -> None:
    sockets = [await player(mm_client, mm_state) for _ in range(4)]
    for _, socket in sockets[:2]:
        await socket.request(add("+properties.kind:authoritative", {"kind": "authoritative"}))
    for _, socket in sockets[:2]:
        matched = await socket.pushed_with("matchmaker_matched", timeout=5)
        assert matched["match_id"] == "6b0f5b3e-6a3c-4d9e-9b1f-3c2a1d0e9f8a.nakama" and "token" not in matched
    for _, socket in sockets[2:]:
        await socket.request(add("+properties.kind:boom", {"kind": "boom"}))
    for _, socket in sockets[2:]:
        matched = await socket.pushed_with("matchmaker_matched", timeout=5)
        assert "token" in matched and "match_id" not in matched  # the function raised: logged, a token instead

    calls = json.loads((await sockets[0][1].request({"rpc": {"id": "seen"}}))["rpc"]["payload"])
    assert [c["mode"] for c in calls] == ["matchmaker", "matchmaker"]
    first = calls[0]["entries"]
    assert {e["user_id"] for e in first} == {sockets[0][0].user_id, sockets[1][0].user_id}
    assert all(e["properties"] == {"kind": "authoritative"} and e["party_id"] == "" and e["create_time"] > 0
               for e in first)


async def test_nakamas_answers_to_bad_requests(mm_client: Client, mm_state: ServerState) -> None:
    _, a = await player(mm_client, mm_state)
    _, b = await player(mm_client, mm_state)

    def error(code: int, message: str) -> dict[str, Any]:
        # Code 0 (RUNTIME_EXCEPTION) is the proto default: JSON leaves it out, as Nakama's does.
        return {"error": {"code": code, "message": message} if code else {"message": message}}

    assert await a.request(add("*", min_count=1)) == error(3, "Invalid minimum count, must be >= 2")
    assert await a.request(add("*", min_count=4, max_count=3)) == error(
        3, "Invalid maximum count, must be >= minimum count")
    assert await a.request(add("*", count_multiple=0)) == error(3, "Invalid count multiple, must be >= 1")
    assert await a.request(add("*", min_count=3, max_count=4, count_multiple=2)) == error(
        3, "Invalid count multiple for minimum count, must divide")
    assert await a.request(add("*", min_count=2, max_count=5, count_multiple=2)) == error(
        3, "Invalid count multiple for maximum count, must divide")
    assert await a.request(add('properties.a:"unterminated')) == error(0, "Error adding to matchmaker")

    nobody = "+properties.nobody:here"
    tickets = [(await a.request(add(nobody)))["matchmaker_ticket"]["ticket"] for _ in range(3)]
    assert await a.request(add(nobody)) == error(0, "Error adding to matchmaker")  # matchmaker.max_tickets 3

    assert await a.request({"matchmaker_remove": {"ticket": ""}}) == error(3, "Invalid matchmaker ticket")
    assert await b.request({"matchmaker_remove": {"ticket": tickets[0]}}) == error(3, "Matchmaker ticket not found")
    assert await a.request({"matchmaker_remove": {"ticket": tickets[0]}}) == {}
    assert await a.request({"matchmaker_remove": {"ticket": tickets[0]}}) == error(3, "Matchmaker ticket not found")
    assert "matchmaker_ticket" in await a.request(add(nobody))  # a removed ticket frees its place


async def test_an_empty_query_matches_anyone(mm_client: Client, mm_state: ServerState) -> None:
    _, a = await player(mm_client, mm_state)
    _, b = await player(mm_client, mm_state)
    await a.request(add("", {"x": "1"}))
    await b.request(add("+properties.x:1"))
    assert "token" in await a.pushed_with("matchmaker_matched", timeout=5)


async def test_a_closed_socket_takes_its_tickets_along(mm_client: Client, mm_state: ServerState) -> None:
    _, a = await player(mm_client, mm_state)
    _, b = await player(mm_client, mm_state)
    await a.request(add("+properties.game:solo", {"game": "solo"}))
    await a.ws.close()
    await b.request(add("+properties.game:solo", {"game": "solo"}))
    assert await b.nothing_pushed("matchmaker_matched", wait=2.5)
    assert len(mm_state.matchmaker.pool) == 1


async def test_matchmaker_stats_count_the_pool_and_the_latest_completions(
        mm_client: Client, mm_state: ServerState) -> None:
    alice, a = await player(mm_client, mm_state)
    _, b = await player(mm_client, mm_state)
    headers = {"Authorization": f"Bearer {alice.token}"}
    empty = await (await mm_client.get("/v2/matchmaker/stats", headers=headers)).json()
    assert empty == {}  # nothing waiting, nothing matched: every field is its zero value
    await a.request(add("+properties.stats:yes", {"stats": "yes"}))
    waiting = await (await mm_client.get("/v2/matchmaker/stats", headers=headers)).json()
    assert waiting["ticket_count"] == 1 and waiting["oldest_ticket_create_time"].endswith("Z")
    await b.request(add("+properties.stats:yes", {"stats": "yes"}))
    await a.pushed_with("matchmaker_matched", timeout=5)
    done = await (await mm_client.get("/v2/matchmaker/stats", headers=headers)).json()
    assert "ticket_count" not in done and len(done["completions"]) == 2
    for completion in done["completions"]:
        created, completed = (datetime.fromisoformat(completion[k]) for k in ("create_time", "complete_time"))
        assert created <= completed
    assert (await mm_client.get("/v2/matchmaker/stats")).status == 401
