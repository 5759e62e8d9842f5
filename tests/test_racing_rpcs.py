"""The racing RPCs, rule by rule (racing.md): submissions, idempotency, rate limit, reads, access."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.errors import Code
from nakama_py.state import ServerState
from tests.support.database import create_database, drop_database, migrate
from tests.support.racing import HTTP_KEY, rpc, start_racing_state
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

DAY = 86400  # one cycle per day: no test here straddles a cycle boundary by accident


@pytest.fixture(scope="module")
def racing_db() -> Iterator[str]:
    url = create_database("nakama_py_racing")
    migrate(url)
    yield url
    drop_database(url)


@dataclass
class Racing:
    state: ServerState
    client: TestClient  # type: ignore[type-arg]

    async def call(self, rpc_id: str, payload: Any = None, *, user: TestUser | None = None,
                   http_key: str | None = None) -> tuple[int, Any]:
        return await rpc(self.client, "", rpc_id, payload, token=user.token if user else None, http_key=http_key)

    async def user(self, username: str | None = None) -> TestUser:
        return await create_user(self.state, username)


RacingFactory = Callable[..., Any]


@pytest.fixture
async def racing_factory(racing_db: str, tmp_path: Path,
                         aiohttp_client: Callable[..., Any]) -> AsyncIterator[RacingFactory]:
    states: list[ServerState] = []

    async def factory(**env: object) -> Racing:
        state = await start_racing_state(racing_db, tmp_path, **{"cycle_seconds": DAY, **env})
        states.append(state)
        return Racing(state, await aiohttp_client(WireTestServer(build_app(state))))

    yield factory
    for state in states:
        await state.close()


@pytest.fixture
async def racing(racing_factory: RacingFactory) -> Racing:
    return await racing_factory()  # type: ignore[no-any-return]


def today() -> int:
    return int(time.time() // DAY)


# --- submit_race_time -------------------------------------------------------------------


async def test_an_accepted_submission(racing: Racing) -> None:
    player = await racing.user()
    status, reply = await racing.call("submit_race_time", {"race_time": 42.5, "idempotency_key": "a-1"}, user=player)
    assert status == 200
    assert reply["success"] is True
    assert reply["cycle"] == today()
    assert reply["race_time_ms"] == 42500 and reply["best_time_ms"] == 42500
    assert reply["personal_best"] is True
    assert isinstance(reply["rank"], int) and reply["rank"] >= 1


@pytest.mark.parametrize(("payload", "message"), [
    ({"idempotency_key": "k"}, "race_time is required"),
    ({"race_time": "fast", "idempotency_key": "k"}, "race_time must be a finite number"),
    ({"race_time": True, "idempotency_key": "k"}, "race_time must be a finite number"),
    ({"race_time": 0.5, "idempotency_key": "k"}, "race_time must be between 1 and 3600 seconds"),
    ({"race_time": 3600.5, "idempotency_key": "k"}, "race_time must be between 1 and 3600 seconds"),
    ({"race_time": 40}, "idempotency_key must be a string of 1 to 128 characters"),
    ({"race_time": 40, "idempotency_key": ""}, "idempotency_key must be a string of 1 to 128 characters"),
    ({"race_time": 40, "idempotency_key": "x" * 129}, "idempotency_key must be a string of 1 to 128 characters"),
    ({"race_time": 40, "idempotency_key": 7}, "idempotency_key must be a string of 1 to 128 characters"),
    ({"race_time": 40, "idempotency_key": "k", "metadata": [1]}, "metadata must be a JSON object"),
    ({"race_time": 40, "idempotency_key": "k", "metadata": {"car": "x" * 3000}}, "metadata must be at most"),
    ([1, 2], "payload must be a JSON object"),
])
async def test_invalid_submissions_are_400_naming_the_field(racing: Racing, payload: Any, message: str) -> None:
    player = await racing.user()
    status, body = await racing.call("submit_race_time", payload, user=player)
    assert status == 400
    assert body["code"] == Code.INVALID_ARGUMENT
    assert message in body["message"]


async def test_nan_is_refused(racing: Racing) -> None:
    player = await racing.user()
    response = await racing.client.post("/v2/rpc/submit_race_time", headers={"Authorization": f"Bearer {player.token}"},
                                        data='"{\\"race_time\\": NaN, \\"idempotency_key\\": \\"k\\"}"')
    assert response.status == 400
    assert "race_time" in (await response.json())["message"]


async def test_submissions_need_a_player_session(racing: Racing) -> None:
    status, body = await racing.call("submit_race_time", {"race_time": 40, "idempotency_key": "k"}, http_key=HTTP_KEY)
    assert status == 401 and body["code"] == Code.UNAUTHENTICATED


async def test_a_replayed_key_gets_the_same_reply_and_writes_once(racing: Racing) -> None:
    player = await racing.user()
    first = await racing.call("submit_race_time", {"race_time": 50, "idempotency_key": "same"}, user=player)
    other = await racing.user()
    await racing.call("submit_race_time", {"race_time": 30, "idempotency_key": "o"}, user=other)  # moves the ranks
    again = await racing.call("submit_race_time", {"race_time": 20, "idempotency_key": "same"}, user=player)
    assert first == again  # the very same reply, rank included, whatever the replay carries
    rows = await racing.state.db.fetch(
        "SELECT score, num_score FROM leaderboard_record WHERE leaderboard_id = 'race_times' AND owner_id = %s",
        (player.user_id,))
    assert rows == [(50000, 1)]


async def test_concurrent_replays_of_one_key(racing: Racing) -> None:
    player = await racing.user()
    payload = {"race_time": 61.25, "idempotency_key": "burst"}
    replies = await asyncio.gather(*(racing.call("submit_race_time", payload, user=player) for _ in range(20)))
    assert {status for status, _ in replies} == {200}
    assert all(reply == replies[0][1] for _, reply in replies)
    count = await racing.state.db.fetchval(
        "SELECT count(*) FROM leaderboard_record WHERE leaderboard_id = 'race_times' AND owner_id = %s",
        (player.user_id,))
    assert count == 1
    num_score = await racing.state.db.fetchval(
        "SELECT num_score FROM leaderboard_record WHERE leaderboard_id = 'race_times' AND owner_id = %s",
        (player.user_id,))
    assert num_score == 1


async def test_best_time_and_personal_best(racing: Racing) -> None:
    player = await racing.user()
    _, first = await racing.call("submit_race_time", {"race_time": 45, "idempotency_key": "b1"}, user=player)
    _, slower = await racing.call("submit_race_time", {"race_time": 47.123, "idempotency_key": "b2"}, user=player)
    _, faster = await racing.call("submit_race_time", {"race_time": 44.0004, "idempotency_key": "b3"}, user=player)
    assert first["personal_best"] is True
    assert (slower["race_time_ms"], slower["best_time_ms"], slower["personal_best"]) == (47123, 45000, False)
    assert (faster["race_time_ms"], faster["best_time_ms"], faster["personal_best"]) == (44000, 44000, True)
    assert faster["rank"] <= first["rank"]


async def test_rate_limit_and_replays_do_not_count(racing_factory: RacingFactory) -> None:
    racing: Racing = await racing_factory(submit_rate_per_minute=3)
    player = await racing.user()
    for i in range(3):
        status, _ = await racing.call("submit_race_time", {"race_time": 40 + i, "idempotency_key": f"r{i}"},
                                      user=player)
        assert status == 200
    payload = json.dumps(json.dumps({"race_time": 39, "idempotency_key": "r3"}))
    async with racing.client.post("/v2/rpc/submit_race_time", data=payload,
                                  headers={"Authorization": f"Bearer {player.token}"}) as response:
        assert response.status == 429 and 1 <= int(response.headers["Retry-After"]) <= 60
        body = await response.json()
    assert body["code"] == Code.RESOURCE_EXHAUSTED
    assert "at most 3 submissions per minute" in body["message"] and "retry in" in body["message"]
    status, replay = await racing.call("submit_race_time", {"race_time": 40, "idempotency_key": "r0"}, user=player)
    assert status == 200 and replay["race_time_ms"] == 40000
    other = await racing.user()  # the limit is per player
    status, _ = await racing.call("submit_race_time", {"race_time": 40, "idempotency_key": "r0"}, user=other)
    assert status == 200


async def test_configured_race_time_bounds(racing_factory: RacingFactory) -> None:
    racing: Racing = await racing_factory(min_race_seconds=10, max_race_seconds=20)
    player = await racing.user()
    status, body = await racing.call("submit_race_time", {"race_time": 9.9, "idempotency_key": "k"}, user=player)
    assert status == 400 and "between 10 and 20 seconds" in body["message"]


# --- get_leaderboard ----------------------------------------------------------------------


async def test_standings_for_players_and_backends(racing: Racing) -> None:
    players = [await racing.user(f"lb{i}-{time.time_ns() % 10**9}") for i in range(3)]
    for seconds, player in zip((3.5, 1.25, 2.0), players, strict=True):
        await racing.call("submit_race_time", {"race_time": seconds, "idempotency_key": "g"}, user=player)
    status, board = await racing.call("get_leaderboard", {"limit": 1000}, user=players[0])
    assert status == 200
    assert board["cycle"] == today()
    assert board["ends_at"].endswith("T00:00:00Z")
    times = [entry["race_time_ms"] for entry in board["entries"]]
    assert times == sorted(times)  # ascending: lower is better
    assert [entry["rank"] for entry in board["entries"]] == list(range(1, len(times) + 1))
    assert board["total"] == len(times)
    mine = next(entry for entry in board["entries"] if entry["user_id"] == players[0].user_id)
    assert board["me"] == {"rank": mine["rank"], "race_time_ms": 3500}
    assert mine["username"] == players[0].username
    status, backend = await racing.call("get_leaderboard", {"limit": 2}, http_key=HTTP_KEY)
    assert status == 200 and backend["me"] is None and len(backend["entries"]) == 2


@pytest.mark.parametrize(("payload", "status", "message"), [
    ({"limit": 0}, 400, "limit must be an integer from 1 to 1000"),
    ({"limit": 1001}, 400, "limit must be an integer from 1 to 1000"),
    ({"limit": "10"}, 400, "limit must be an integer"),
    ({"cycle": -1}, 400, "cycle must be an integer"),
])
async def test_standings_argument_errors(racing: Racing, payload: Any, status: int, message: str) -> None:
    got, body = await racing.call("get_leaderboard", payload, http_key=HTTP_KEY)
    assert got == status and message in body["message"]


async def test_future_and_forgotten_cycles(racing: Racing) -> None:
    status, body = await racing.call("get_leaderboard", {"cycle": today() + 1}, http_key=HTTP_KEY)
    assert status == 400 and "has not started yet" in body["message"]
    status, body = await racing.call("get_leaderboard", {"cycle": today() - 8}, http_key=HTTP_KEY)
    assert status == 404 and "no longer kept" in body["message"]


async def test_a_player_sees_their_own_submission_at_once(racing_factory: RacingFactory) -> None:
    racing: Racing = await racing_factory(leaderboard_cache_ms=600000)  # the memo alone would keep it 10 minutes
    player = await racing.user()
    await racing.call("submit_race_time", {"race_time": 3000, "idempotency_key": "slow"}, user=player)
    _, before = await racing.call("get_leaderboard", {"limit": 5}, user=player)
    _, submitted = await racing.call("submit_race_time", {"race_time": 1.001, "idempotency_key": "fast"}, user=player)
    _, after = await racing.call("get_leaderboard", {"limit": 5}, user=player)
    assert after["me"] == {"rank": submitted["rank"], "race_time_ms": 1001}
    assert after["me"] != before["me"]
    assert after["entries"][0]["user_id"] == player.user_id  # the memoized top entries were dropped too


# --- backend-only RPCs ------------------------------------------------------------------------


async def test_backend_rpcs_refuse_players(racing: Racing) -> None:
    player = await racing.user()
    for rpc_id in ("manual_reset_leaderboard", "system_metrics"):
        status, body = await racing.call(rpc_id, {}, user=player)
        assert status == 403 and body["code"] == Code.PERMISSION_DENIED, rpc_id


async def test_the_current_cycle_cannot_be_finalized(racing: Racing) -> None:
    status, body = await racing.call("manual_reset_leaderboard", {"cycle": today()}, http_key=HTTP_KEY)
    assert status == 400 and "has not ended yet" in body["message"]


async def test_system_metrics(racing: Racing) -> None:
    player = await racing.user()
    await racing.call("submit_race_time", {"race_time": 12, "idempotency_key": "m"}, user=player)
    status, metrics = await racing.call("system_metrics", {}, http_key=HTTP_KEY)
    assert status == 200
    assert set(metrics) == {"current_cycle", "leaderboard_size", "submissions_this_cycle", "last_reset",
                            "storage_objects_count", "idempotency_keys_count"}
    assert metrics["current_cycle"] == today()
    assert metrics["leaderboard_size"] >= 1
    assert metrics["submissions_this_cycle"] >= 1
    assert metrics["idempotency_keys_count"] >= metrics["submissions_this_cycle"]


async def test_bad_configuration_stops_start_up(racing_factory: RacingFactory) -> None:
    from nakama_py.runtime.loader import RuntimeLoadError

    for env, key in (({"cycle_seconds": 7}, "racing_cycle_seconds"), ({"rewards": "10,x"}, "racing_rewards"),
                     ({"submit_rate_per_minute": 0}, "racing_submit_rate_per_minute"),
                     ({"max_race_seconds": "0.5"}, "racing_max_race_seconds")):
        with pytest.raises(RuntimeLoadError) as caught:
            await racing_factory(**env)
        assert key in str(caught.value)
