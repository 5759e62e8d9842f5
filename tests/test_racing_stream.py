"""``racing_submit_mode=stream``: submissions accepted at once onto the event log (a private NATS JetStream),
applied in batches by the consumer, outcomes through ``get_submission``, replays, the accept-time rate
limit, the screening hook point, and the start-up check."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import load_config, parse_flags
from nakama_py.runtime.loader import RuntimeLoadError
from nakama_py.state import ServerState, build_state
from tests.support.database import create_database, drop_database, migrate
from tests.support.jetstream import PrivateJetStream
from tests.support.modules import write_module
from tests.support.racing import racing_flags, racing_modules, rpc
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

DAY = 86400
Client = TestClient[Any, Any]

SCREEN = """
    import json

    async def too_fast(ctx, logger, nk, entries):
        # The fraud-screening hook point: reject impossible times before they reach the board.
        return {e.msg_id: "faster than the track record" for e in entries if json.loads(e.data)["ms"] < 5000}

    def init_module(ctx, logger, nk, initializer):
        initializer.register_event_log_screen("racing_submissions", too_fast)
"""


@pytest.fixture(scope="module")
def jetstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateJetStream]:
    server = PrivateJetStream(tmp_path_factory.mktemp("jetstream"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stream_db() -> Iterator[str]:
    url = create_database("nakama_py_stream")
    migrate(url)
    yield url
    drop_database(url)


class Racing:
    def __init__(self, state: ServerState, client: Client) -> None:
        self.state = state
        self.client = client

    async def call(self, rpc_id: str, payload: Any, user: TestUser) -> tuple[int, Any]:
        return await rpc(self.client, "", rpc_id, payload, token=user.token)

    async def outcome(self, user: TestUser, key: str, timeout: float = 10.0) -> dict[str, Any]:
        """get_submission once it is no longer pending."""
        deadline = time.monotonic() + timeout
        while True:
            status, reply = await self.call("get_submission", {"idempotency_key": key}, user)
            assert status == 200, reply
            if reply["status"] != "pending" or time.monotonic() > deadline:
                return reply  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)


@pytest.fixture
async def racing_factory(stream_db: str, jetstream: PrivateJetStream, tmp_path: Path,
                         aiohttp_client: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    states: list[ServerState] = []

    async def factory(*, screen: bool = False, nats: bool = True, **env: object) -> Racing:
        modules = racing_modules(tmp_path)
        if screen:
            write_module(modules, "screen.py", SCREEN)
        flags = ["--database.address", stream_db, "--data_dir", str(tmp_path / "data"), "--logger.level", "warn",
                 *racing_flags(tmp_path, **{"cycle_seconds": DAY, "submit_mode": "stream", **env})]
        if nats:  # a prefix of its own: a fresh log and consumer for this test
            flags += ["--cluster.nats_url", jetstream.url, "--cluster.nats_prefix", "t" + secrets.token_hex(4)]
        files, parsed = parse_flags(flags)
        state = await build_state(load_config(files, parsed, environ={}), stream_db)
        states.append(state)
        return Racing(state, await aiohttp_client(WireTestServer(build_app(state))))

    yield factory
    for state in states:
        await state.close()


async def test_a_submission_is_accepted_at_once_then_applied_and_a_replay_returns_the_receipt(
        racing_factory: Callable[..., Any]) -> None:
    racing: Racing = await racing_factory()
    player = await create_user(racing.state)
    status, reply = await racing.call("submit_race_time", {"race_time": 61.5, "idempotency_key": "k1"}, player)
    assert status == 200, reply
    assert reply["success"] is True and reply["status"] == "accepted"
    assert reply["race_time_ms"] == 61500 and reply["idempotency_key"] == "k1"
    assert reply["cycle"] == int(time.time() // DAY) and reply["sequence"] >= 1

    outcome = await racing.outcome(player, "k1")
    assert outcome["status"] == "applied", outcome
    assert (outcome["race_time_ms"], outcome["best_time_ms"], outcome["rank"]) == (61500, 61500, 1)
    _, board = await racing.call("get_leaderboard", {"limit": 10}, player)
    assert board["me"] == {"rank": 1, "race_time_ms": 61500}

    status, replay = await racing.call("submit_race_time", {"race_time": 61.5, "idempotency_key": "k1"}, player)
    assert status == 200
    assert replay["status"] == "applied" and replay["best_time_ms"] == 61500  # the receipt, nothing queued
    status, unknown = await racing.call("get_submission", {"idempotency_key": "never-sent"}, player)
    assert unknown == {"success": True, "status": "pending", "idempotency_key": "never-sent"}


async def test_the_rate_limit_answers_at_accept_time(racing_factory: Callable[..., Any]) -> None:
    racing: Racing = await racing_factory(submit_rate_per_minute=2)
    player = await create_user(racing.state)
    for key in ("a", "b"):
        status, _ = await racing.call("submit_race_time", {"race_time": 70, "idempotency_key": key}, player)
        assert status == 200
    status, error = await racing.call("submit_race_time", {"race_time": 70, "idempotency_key": "c"}, player)
    assert status == 429 and error["code"] == 8
    assert error["message"].startswith("rate limit exceeded: at most 2 submissions per minute")
    assert (await racing.outcome(player, "a"))["status"] == "applied"
    status, again = await racing.call("submit_race_time", {"race_time": 70, "idempotency_key": "a"}, player)
    assert (status, again["status"]) == (200, "applied")  # a replay never counts: its receipt, even now


async def test_the_screening_hook_rejects_before_the_board(racing_factory: Callable[..., Any]) -> None:
    racing: Racing = await racing_factory(screen=True)
    cheat, honest = await create_user(racing.state), await create_user(racing.state)
    await racing.call("submit_race_time", {"race_time": 2.0, "idempotency_key": "x"}, cheat)
    await racing.call("submit_race_time", {"race_time": 80.0, "idempotency_key": "y"}, honest)
    rejected = await racing.outcome(cheat, "x")
    assert rejected == {"success": False, "status": "rejected", "reason": "screened",
                        "message": "faster than the track record", "idempotency_key": "x"}
    assert (await racing.outcome(honest, "y"))["status"] == "applied"
    _, board = await racing.call("get_leaderboard", {"limit": 10}, cheat)
    assert board["me"] is None
    assert cheat.user_id not in {e["user_id"] for e in board["entries"]}


async def test_stream_mode_needs_nats(racing_factory: Callable[..., Any]) -> None:
    with pytest.raises(RuntimeLoadError) as failure:
        await racing_factory(nats=False)
    assert "racing_submit_mode: stream needs the event log" in failure.value.summary


async def test_finalization_waits_for_the_log_then_runs(racing_factory: Callable[..., Any]) -> None:
    racing: Racing = await racing_factory()
    player = await create_user(racing.state)
    await racing.call("submit_race_time", {"race_time": 90.0, "idempotency_key": "f"}, player)
    status, reply = await rpc(racing.client, "", "manual_reset_leaderboard", {"cycle": int(time.time() // DAY) - 1},
                              http_key="defaulthttpkey")
    assert status == 200, reply
    assert reply["finalized"] is True
    # Asked once, not polled: finalization returned only after the log was applied.
    _, outcome = await racing.call("get_submission", {"idempotency_key": "f"}, player)
    assert outcome["status"] == "applied"


async def test_with_regions_a_streamed_submission_lands_on_the_players_region_board(
        racing_factory: Callable[..., Any]) -> None:
    racing: Racing = await racing_factory(regions="us-east,eu-west")
    east, west = await create_user(racing.state), await create_user(racing.state)
    status, reply = await racing.call("submit_race_time",
                                      {"race_time": 70.0, "idempotency_key": "r1", "region": "us-east"}, east)
    assert status == 200 and reply["status"] == "accepted" and reply["region"] == "us-east", reply
    status, reply = await racing.call("submit_race_time",
                                      {"race_time": 65.0, "idempotency_key": "r1", "region": "eu-west"}, west)
    assert status == 200 and reply["region"] == "eu-west", reply
    # The region is fixed at accept time: a later different one is refused before anything is queued.
    status, refused = await racing.call("submit_race_time",
                                        {"race_time": 60.0, "idempotency_key": "r2", "region": "eu-west"}, east)
    assert status == 400 and "region is fixed" in refused["message"], refused

    assert (await racing.outcome(east, "r1"))["status"] == "applied"
    west_outcome = await racing.outcome(west, "r1")
    assert west_outcome["status"] == "applied" and west_outcome["rank"] == 1, west_outcome
    _, region_view = await racing.call("get_leaderboard", {"region": "us-east"}, east)
    assert [e["race_time_ms"] for e in region_view["entries"]] == [70000]
    _, global_view = await racing.call("get_leaderboard", {"scope": "global"}, east)
    assert [(e["race_time_ms"], e["region"]) for e in global_view["entries"]] == [(65000, "eu-west"),
                                                                                 (70000, "us-east")]
    assert global_view["me"]["rank"] == 2, global_view["me"]
