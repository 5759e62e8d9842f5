"""The Python match contract (tests/match_modules/contract.py): every callback as players see it,
ticks at the handler's rate, a handler that raises, one that overruns, one that never ends (stopped
at shutdown after match_terminate with the grace period), many matches at once; listing with labels."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.errors import MatchBusy, MatchNotFound
from nakama_py.runtime import NakamaModule
from nakama_py.state import ServerState, build_state
from tests.conftest import ConfigFactory
from tests.support.sockets import JsonSocket
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

Client = TestClient[web.Request, web.Application]
MODULES = Path(__file__).parent / "match_modules"
JOINED, LEFT, ECHO, TICK, TERMINATING = 1, 2, 3, 4, 5
END, RAISE, RELABEL, KICK_ME, BLOCK, STALL = 99, 98, 97, 96, 95, 94
PASSWORD = {"password": "open sesame"}


@pytest.fixture
async def state(make_config: ConfigFactory, database_url: str) -> AsyncIterator[ServerState]:
    server_state = await build_state(make_config("--runtime.path", str(MODULES), "--shutdown_grace_sec", "1"),
                                     database_url)
    try:
        yield server_state
    finally:
        await server_state.close()


@pytest.fixture
async def client(state: ServerState, aiohttp_client: Callable[..., Any]) -> Client:
    return await aiohttp_client(WireTestServer(build_app(state)))  # type: ignore[no-any-return]


@pytest.fixture
def nk(state: ServerState) -> NakamaModule:
    assert state.runtime.nk is not None
    return state.runtime.nk


async def open_socket(client: Client, user: TestUser) -> JsonSocket:
    return JsonSocket(await client.ws_connect(f"/ws?token={user.token}"))


async def data_with(socket: JsonSocket, op_code: int, timeout: float = 5) -> str:
    """The decoded data of the next ``match_data`` with this op code (others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        data = await socket.pushed_with("match_data", max(0.05, deadline - time.monotonic()))
        if int(data.get("op_code", 0)) == op_code:
            return base64.b64decode(data.get("data", "")).decode()


async def send(socket: JsonSocket, match_id: str, op_code: int, data: str = "") -> None:
    await socket.ws.send_json({"match_data_send": {"match_id": match_id, "op_code": str(op_code),
                                                   "data": base64.b64encode(data.encode()).decode()}})


async def test_every_callback(client: Client, state: ServerState, nk: NakamaModule) -> None:
    alice, bob = await create_user(state), await create_user(state)
    a, b = await open_socket(client, alice), await open_socket(client, bob)
    match_id = await nk.match_create("contract", {"label": '{"mode": "race", "skill": 60}', "rate": 10})
    assert match_id.endswith(f".{state.bus.process}")

    # join attempt: refused with the handler's reason, or admitted with metadata; match_join sees ctx.
    refused = await a.request({"match_join": {"match_id": match_id}})
    assert refused["error"] == {"code": 5, "message": "wrong password"}
    joined = (await a.request({"match_join": {"match_id": match_id, "metadata": PASSWORD}}))["match"]
    assert joined["authoritative"] is True and joined["label"] == '{"mode": "race", "skill": 60}'
    assert await data_with(a, JOINED) == f'{alice.user_id} {match_id} {{"mode": "race", "skill": 60}}'
    joined_b = (await b.request({"match_join": {"match_id": match_id, "metadata": PASSWORD}}))["match"]
    assert [p["user_id"] for p in joined_b["presences"]] == [alice.user_id] and joined_b["size"] == 1
    assert (await data_with(a, JOINED)).startswith(bob.user_id)
    event = await a.pushed_with("match_presence_event")
    assert event["match_id"] == match_id

    # match_loop gets the messages; the echo goes only to the sender, tagged with them.
    await send(b, match_id, 42, "ping")
    assert await data_with(b, ECHO) == "ping"
    assert await a.nothing_pushed("match_data", 0.3)

    # match_signal answers; labels update listings (the REST listing and nk's, with queries).
    assert (await nk.match_signal(match_id, "hello")).startswith("hello tick=")
    await send(a, match_id, RELABEL, '{"mode": "drift", "skill": 80}')
    for _ in range(50):
        found = nk.match_get(match_id)
        if found is not None and found.label == '{"mode": "drift", "skill": 80}':
            break
        await asyncio.sleep(0.05)
    assert found is not None and found.size == 2 and found.tick_rate == 10 and found.handler_name == "contract"
    listed = nk.match_list(10, True, None, None, None, "+label.mode:drift +label.skill:>=70")
    assert [m.match_id for m in listed] == [match_id]
    assert nk.match_list(10, True, None, None, None, "+label.mode:race") == []
    headers = {"Authorization": f"Bearer {alice.token}"}
    rest = await (await client.get("/v2/match", params={"query": "label.mode:drift", "limit": "5"},
                                   headers=headers)).json()
    assert [(m["match_id"], m["size"], m["authoritative"]) for m in rest["matches"]] == [(match_id, 2, True)]
    exact = await (await client.get("/v2/match", params={"label": '{"mode": "drift", "skill": 80}'},
                                    headers=headers)).json()
    assert [m["match_id"] for m in exact["matches"]] == [match_id]

    # match_kick and match_leave: the kicked player's leave reaches match_leave and the others.
    await send(b, match_id, KICK_ME)
    assert await data_with(a, LEFT) == bob.user_id
    assert await a.request({"match_leave": {"match_id": match_id}}) == {}
    for _ in range(50):
        found = nk.match_get(match_id)
        if found is not None and found.size == 0:
            break
        await asyncio.sleep(0.05)
    assert found is not None and found.size == 0

    # A None state from a callback ends the match (the signal itself is answered "match busy", as in
    # Nakama): gone from listings, later signals and joins find no match.
    with pytest.raises(MatchBusy):
        await nk.match_signal(match_id, "end")
    for _ in range(50):
        if nk.match_get(match_id) is None:
            break
        await asyncio.sleep(0.05)
    assert nk.match_get(match_id) is None
    with pytest.raises(MatchNotFound):
        await nk.match_signal(match_id, "again")
    gone = await a.request({"match_join": {"match_id": match_id, "metadata": PASSWORD}})
    assert gone["error"] == {"code": 4, "message": "Match not found"}


async def test_ticks_run_at_the_tick_rate(client: Client, state: ServerState, nk: NakamaModule) -> None:
    user = await create_user(state)
    socket = await open_socket(client, user)
    match_id = await nk.match_create("contract", {"rate": 20, "ticks": True})
    await socket.request({"match_join": {"match_id": match_id, "metadata": PASSWORD}})
    first = int(await data_with(socket, TICK))
    started = time.monotonic()
    last = first
    while time.monotonic() - started < 2.0:
        last = int(await data_with(socket, TICK))
    ticks = last - first
    assert 32 <= ticks <= 42, ticks  # 20 per second for two seconds (a starved machine may skip a few)


async def test_a_handler_that_raises_ends_the_match_and_closes_its_players(client: Client, state: ServerState,
                                                                           nk: NakamaModule) -> None:
    user = await create_user(state)
    socket = await open_socket(client, user)
    match_id = await nk.match_create("contract", {})
    await socket.request({"match_join": {"match_id": match_id, "metadata": PASSWORD}})
    await send(socket, match_id, RAISE)
    message = await socket.ws.receive(5)
    while message.type == aiohttp.WSMsgType.TEXT:
        message = await socket.ws.receive(5)
    assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert nk.match_get(match_id) is None


def overran(caplog: pytest.LogCaptureFixture, match_id: str) -> bool:
    return any("overran its tick" in r.getMessage() and r.__dict__["fields"]["mid"] == match_id
               for r in caplog.records)


async def test_an_overrunning_match_delays_only_itself(client: Client, state: ServerState, nk: NakamaModule,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    slow_player, steady_player = await create_user(state), await create_user(state)
    slow_socket, steady_socket = await open_socket(client, slow_player), await open_socket(client, steady_player)
    slow = await nk.match_create("contract", {"rate": 10})
    steady = await nk.match_create("contract", {"rate": 10, "ticks": True})
    await slow_socket.request({"match_join": {"match_id": slow, "metadata": PASSWORD}})
    await steady_socket.request({"match_join": {"match_id": steady, "metadata": PASSWORD}})
    first = int(await data_with(steady_socket, TICK))
    with caplog.at_level(logging.WARNING, logger="nakama_py.matches"):
        await send(slow_socket, slow, STALL, "1.0")  # awaits for 10 ticks' time
        started = time.monotonic()
        last = first
        while time.monotonic() - started < 1.2:
            last = int(await data_with(steady_socket, TICK))
        assert last - first >= 10  # the steady match kept its rate meanwhile
        await asyncio.sleep(0.3)
        assert overran(caplog, slow)
        # A plain blocking call is the module's bug (it stalls the event loop): detected and logged too.
        blocking = await nk.match_create("contract", {"rate": 10})
        await slow_socket.request({"match_join": {"match_id": blocking, "metadata": PASSWORD}})
        await send(slow_socket, blocking, BLOCK, "0.3")
        await asyncio.sleep(0.8)
        assert overran(caplog, blocking)
    assert nk.match_get(slow) is not None  # overrunning does not end a match


async def test_a_match_that_never_ends_is_stopped_after_the_grace_period(make_config: ConfigFactory,
                                                                        database_url: str,
                                                                        aiohttp_client: Callable[..., Any]) -> None:
    own = await build_state(make_config("--runtime.path", str(MODULES), "--shutdown_grace_sec", "1"), database_url)
    try:
        client: Client = await aiohttp_client(WireTestServer(build_app(own)))
        user = await create_user(own)
        socket = await open_socket(client, user)
        assert own.runtime.nk is not None
        match_id = await own.runtime.nk.match_create("contract", {"linger": True})
        await socket.request({"match_join": {"match_id": match_id, "metadata": PASSWORD}})
        await data_with(socket, JOINED)
        closing = asyncio.create_task(own.matches.registry.stop(own.config.shutdown_grace_sec))
        started = time.monotonic()
        assert await data_with(socket, TERMINATING) == "1"  # match_terminate with the grace seconds
        await closing
        took = time.monotonic() - started
        assert 1.0 <= took < 4.0, took
        assert own.matches.registry.count() == 0 and own.runtime.nk.match_get(match_id) is None
    finally:
        await own.close()


async def test_many_matches_at_once(state: ServerState, nk: NakamaModule) -> None:
    rate = 10
    ids = [await nk.match_create("sync_counter", {"rate": rate}) for _ in range(200)]
    assert state.matches.registry.count() == 200
    first_sent = time.monotonic()
    before = await asyncio.gather(*(nk.match_signal(match_id, "") for match_id in ids))
    first_done = time.monotonic()
    await asyncio.sleep(2.0)
    second_sent = time.monotonic()
    after = await asyncio.gather(*(nk.match_signal(match_id, "") for match_id in ids))
    second_done = time.monotonic()
    ticks = [int(b) - int(a) for a, b in zip(before, after, strict=True)]
    # Each match reads its tick count when its signal is handled, somewhere inside each gather: the ticks
    # between its two reads are at most rate x the longest possible gap (plus the tick in flight), and
    # at least 60% of rate x the shortest (missed ticks are skipped when the machine starves the process).
    longest, shortest = second_done - first_sent, second_sent - first_done
    assert min(ticks) >= int(0.6 * rate * shortest), (min(ticks), shortest)
    assert max(ticks) <= rate * longest + 1, (max(ticks), longest)
    # None left behind by the others: the spread is what the gathers' own spans allow, plus a tick or two.
    spread = rate * ((first_done - first_sent) + (second_done - second_sent)) + 2
    assert max(ticks) - min(ticks) <= spread, (min(ticks), max(ticks), spread)
    assert len(nk.match_list(100, True, "sync")) == 100


async def test_an_empty_match_ends_after_max_empty_sec(make_config: ConfigFactory, database_url: str) -> None:
    own = await build_state(make_config("--runtime.path", str(MODULES), "--match.max_empty_sec", "1"), database_url)
    try:
        assert own.runtime.nk is not None
        match_id = await own.runtime.nk.match_create("contract", {"rate": 10})
        await asyncio.sleep(0.5)
        assert own.runtime.nk.match_get(match_id) is not None
        deadline = time.monotonic() + 3
        while own.runtime.nk.match_get(match_id) is not None:
            assert time.monotonic() < deadline, "the empty match outlived match.max_empty_sec"
            await asyncio.sleep(0.1)
    finally:
        await own.close()
