"""Racing regions in one cluster (racing_regions, every region local): a player's region, the
per-region and global standings against a brute-force sort, ties across regions, finalization's
global and per-region rewards once, and the default (no regions) unchanged byte for byte."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.core.ranks import owner_int
from nakama_py.errors import Code
from nakama_py.state import ServerState
from tests.support.racing import HTTP_KEY, rpc, start_racing_state, until_cycle_end, until_cycle_start
from tests.support.users import TestUser, create_user
from tests.support.wire_server import WireTestServer

DAY = 86400
REGIONS = "us-east,eu-west,ap-south"


@dataclass
class Racing:
    state: ServerState
    client: TestClient  # type: ignore[type-arg]

    async def call(self, rpc_id: str, payload: Any = None, *, user: TestUser | None = None,
                   http_key: str | None = None) -> tuple[int, Any]:
        return await rpc(self.client, "", rpc_id, payload, token=user.token if user else None, http_key=http_key)

    async def raw(self, rpc_id: str, payload: Any, user: TestUser) -> str:
        """The RPC's reply payload exactly as sent."""
        async with self.client.post(f"/v2/rpc/{rpc_id}", data=json.dumps(json.dumps(payload)),
                                    headers=user.auth) as response:
            assert response.status == 200, await response.text()
            return str((await response.json())["payload"])

    async def user(self, username: str | None = None, region_var: str | None = None) -> TestUser:
        user = await create_user(self.state, username)
        if region_var is None:
            return user
        issued = self.state.sessions.issue(user.user_id, user.username, {"region": region_var})
        return TestUser(user.user_id, user.username, issued.token, issued.refresh_token)

    async def submit(self, user: TestUser, seconds: float, key: str, **extra: Any) -> tuple[int, Any]:
        return await self.call("submit_race_time", {"race_time": seconds, "idempotency_key": key, **extra}, user=user)


@pytest.fixture
async def racing_factory(own_database: str, tmp_path: Path,
                         aiohttp_client: Callable[..., Any]) -> AsyncIterator[Callable[..., Any]]:
    states: list[ServerState] = []

    async def factory(**env: object) -> Racing:
        state = await start_racing_state(own_database, tmp_path, **{"cycle_seconds": DAY, **env})
        states.append(state)
        return Racing(state, await aiohttp_client(WireTestServer(build_app(state))))

    yield factory
    for state in states:
        await state.close()


def today() -> int:
    return int(time.time() // DAY)


def order(score: int, user_id: str) -> tuple[int, int]:
    return score, owner_int(user_id)  # the boards' order: time, then the owner's UUID


# --- the default: one region, replies unchanged ------------------------------------------------


async def test_without_regions_every_reply_is_unchanged(racing_factory: Callable[..., Any]) -> None:
    racing: Racing = await racing_factory()
    a, b = await racing.user("plain-a"), await racing.user("plain-b")
    submitted = await racing.raw("submit_race_time", {"race_time": 12.5, "idempotency_key": "k",
                                                      "region": "eu-west"}, a)  # a region field is ignored
    assert submitted == json.dumps({"success": True, "cycle": today(), "race_time_ms": 12500, "best_time_ms": 12500,
                                    "rank": 1, "personal_best": True}, separators=(",", ":"))
    await racing.submit(b, 10, "k")
    ends = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((today() + 1) * DAY))
    expected = (f'{{"cycle":{today()},"ends_at":"{ends}","entries":['
                f'{{"rank":1,"user_id":"{b.user_id}","username":"plain-b","race_time_ms":10000}},'
                f'{{"rank":2,"user_id":"{a.user_id}","username":"plain-a","race_time_ms":12500}}],'
                f'"total":2,"me":{{"rank":2,"race_time_ms":12500}}}}')
    assert await racing.raw("get_leaderboard", {}, a) == expected
    assert await racing.raw("get_leaderboard", {"scope": "global", "region": "x"}, a) == expected  # ignored too
    boards = await racing.state.db.fetch("SELECT id FROM leaderboard WHERE id LIKE 'race_times%%' ORDER BY id")
    assert boards == [("race_times",)]
    status, _ = await racing.call("racing_region_standings", {"region": "us-east", "cycle": today()}, http_key=HTTP_KEY)
    assert status == 404  # not registered without regions


# --- a player's region -------------------------------------------------------------------------


async def test_a_players_region_is_chosen_once_then_fixed(racing_factory: Callable[..., Any]) -> None:
    racing: Racing = await racing_factory(regions=REGIONS)
    player = await racing.user()
    status, body = await racing.submit(player, 40, "a")
    assert status == 400 and body["code"] == Code.INVALID_ARGUMENT
    assert "region is required on a player's first submission" in body["message"]
    status, body = await racing.submit(player, 40, "a", region="mars")
    assert status == 400 and "unknown region 'mars': one of us-east, eu-west, ap-south" in body["message"]
    status, reply = await racing.submit(player, 40, "a", region="eu-west")
    assert status == 200 and reply["region"] == "eu-west" and reply["rank"] == 1
    status, reply = await racing.submit(player, 39, "b")  # later submissions may omit it
    assert status == 200 and reply["region"] == "eu-west" and reply["best_time_ms"] == 39000
    status, body = await racing.submit(player, 38, "c", region="us-east")
    assert status == 400 and "region is fixed: this player races in 'eu-west', not 'us-east'" in body["message"]
    rows = await racing.state.db.fetch("SELECT leaderboard_id, score FROM leaderboard_record WHERE owner_id = %s",
                                       (player.user_id,))
    assert rows == [("race_times.eu-west", 39000)]
    stored = await racing.state.db.fetch("SELECT value, read, write FROM storage WHERE collection = 'race_data'"
                                         " AND key = 'region' AND user_id = %s", (player.user_id,))
    assert stored == [({"region": "eu-west"}, 1, 0)]  # the player may read it, not change it

    by_vars = await racing.user(region_var="ap-south")  # the session's vars choose when the payload does not
    status, reply = await racing.submit(by_vars, 50, "v")
    assert status == 200 and reply["region"] == "ap-south"
    overridden = await racing.user(region_var="ap-south")  # the payload's field wins over the vars
    status, reply = await racing.submit(overridden, 50, "v", region="us-east")
    assert status == 200 and reply["region"] == "us-east"


async def test_concurrent_first_submissions_agree_on_one_region(racing_factory: Callable[..., Any]) -> None:
    racing: Racing = await racing_factory(regions=REGIONS)
    player = await racing.user()
    replies = await asyncio.gather(*(racing.submit(player, 40 + i, f"c{i}", region=region)
                                     for i, region in enumerate(["us-east", "eu-west", "ap-south"] * 3)))
    won = {reply["region"] for status, reply in replies if status == 200}
    assert len(won) == 1
    refused = [reply for status, reply in replies if status != 200]
    assert len(refused) == 6 and all("region is fixed" in body["message"] for body in refused)
    boards = await racing.state.db.fetch("SELECT leaderboard_id FROM leaderboard_record WHERE owner_id = %s",
                                         (player.user_id,))
    assert boards == [(f"race_times.{won.pop()}",)]


# --- standings -------------------------------------------------------------------------------


async def test_global_and_regional_standings_equal_one_board_of_everyone(racing_factory: Callable[..., Any]) -> None:
    racing: Racing = await racing_factory(regions=REGIONS)
    regions = REGIONS.split(",")
    players: list[tuple[TestUser, str, int]] = []
    for i in range(24):
        region = regions[i % 3]
        player = await racing.user(f"g{i:02d}")
        ms = 20000 + (i * 7919) % 9 * 1000  # nine distinct times: many ties, across regions too
        status, _ = await racing.submit(player, ms / 1000, "k", region=region)
        assert status == 200
        players.append((player, region, ms))
    everyone = sorted(players, key=lambda p: order(p[2], p[0].user_id))

    status, board = await racing.call("get_leaderboard", {"limit": 10}, user=everyone[13][0])
    assert status == 200 and board["scope"] == "global" and board["cycle"] == today()
    assert [(e["rank"], e["user_id"], e["region"], e["race_time_ms"]) for e in board["entries"]] == [
        (rank, p.user_id, region, ms) for rank, (p, region, ms) in enumerate(everyone[:10], start=1)]
    assert board["total"] == 24 and board["regions"] == {r: 8 for r in regions}
    for rank, (player, region, ms) in enumerate(everyone, start=1):
        status, mine = await racing.call("get_leaderboard", {"scope": "global", "limit": 1}, user=player)
        in_region = [p for p in everyone if p[1] == region]
        assert mine["me"] == {"rank": rank, "race_time_ms": ms, "region": region,
                              "region_rank": in_region.index((player, region, ms)) + 1}

    west = [p for p in everyone if p[1] == "eu-west"]
    status, regional = await racing.call("get_leaderboard", {"region": "eu-west", "limit": 5}, user=west[2][0])
    assert status == 200 and regional["region"] == "eu-west" and regional["total"] == 8
    assert [(e["rank"], e["user_id"]) for e in regional["entries"]] == [
        (rank, p.user_id) for rank, (p, _, _) in enumerate(west[:5], start=1)]
    assert "region" not in regional["entries"][0]
    assert regional["me"] == {"rank": 3, "race_time_ms": west[2][2]}
    status, other = await racing.call("get_leaderboard", {"region": "us-east"}, user=west[2][0])
    assert other["me"] is None  # not their region
    status, backend = await racing.call("get_leaderboard", {"scope": "global"}, http_key=HTTP_KEY)
    assert status == 200 and backend["me"] is None and len(backend["entries"]) == 24
    status, metrics = await racing.call("system_metrics", {}, http_key=HTTP_KEY)
    assert (metrics["leaderboard_size"], metrics["submissions_this_cycle"]) == (24, 24)  # every local region

    # The public, cacheable standings (GET /racing/standings) show the global view, or ?region= one region's.
    async with racing.client.get("/racing/standings?limit=3") as response:
        assert response.status == 200 and response.headers["ETag"]
        public = await response.json()
    assert public == {"scope": "global", "cycle": today(), "ends_at": board["ends_at"],
                      "entries": board["entries"][:3], "total": 24, "regions": {r: 8 for r in regions}}
    async with racing.client.get("/racing/standings?limit=2&region=eu-west") as response:
        public = await response.json()
    assert public["region"] == "eu-west" and [e["user_id"] for e in public["entries"]] == [
        p.user_id for p, _, _ in west[:2]]
    async with racing.client.get("/racing/standings?region=mars") as response:
        assert response.status == 400

    # A player sees their own new best at once in the global view (the merged top is memoized).
    last, region, _ = everyone[-1]
    await racing.submit(last, 1.5, "faster")
    status, mine = await racing.call("get_leaderboard", {"limit": 3}, user=last)
    assert mine["me"]["rank"] == 1 and mine["entries"][0]["user_id"] == last.user_id

    for payload, message in [({"scope": "everything"}, 'scope must be "global"'),
                             ({"scope": "global", "region": "eu-west"}, "not both"),
                             ({"region": "mars"}, "unknown region 'mars'")]:
        status, body = await racing.call("get_leaderboard", payload, user=last)
        assert status == 400 and message in body["message"], body


async def test_the_region_service_answers_backends_only(racing_factory: Callable[..., Any]) -> None:
    racing: Racing = await racing_factory(regions=REGIONS)
    a, b = await racing.user(), await racing.user()
    await racing.submit(a, 30, "k", region="us-east")
    await racing.submit(b, 31, "k", region="us-east")
    status, reply = await racing.call("racing_region_standings", {
        "region": "us-east", "cycle": today(), "limit": 1,
        "probes": [[30500, 0, "00000000-0000-4000-8000-000000000000"], [1000, 0, a.user_id]]}, http_key=HTTP_KEY)
    assert status == 200
    assert reply == {"region": "us-east", "cycle": today(), "total": 2,
                     "entries": [[a.user_id, a.username, 30000, 0]], "better_than": [1, 0]}
    status, _ = await racing.call("racing_region_standings", {"region": "us-east", "cycle": today()}, user=a)
    assert status == 403
    status, body = await racing.call("racing_region_standings", {"region": "mars", "cycle": today()},
                                     http_key=HTTP_KEY)
    assert status == 404 and "not served by this cluster" in body["message"]


# --- finalization ----------------------------------------------------------------------------


async def test_finalization_pays_global_and_region_rewards_once(racing_factory: Callable[..., Any]) -> None:
    length = 4
    racing: Racing = await racing_factory(regions="north,south", cycle_seconds=length, rewards="300,200,100",
                                          region_rewards="50,20")
    north = [await racing.user(f"n{i}") for i in range(3)]
    south = [await racing.user(f"s{i}") for i in range(3)]
    cycle = await until_cycle_start(length, margin=0.1)
    times = {north[0]: 10, south[0]: 11, south[1]: 12, north[1]: 13, north[2]: 14, south[2]: 15}
    for player, seconds in times.items():
        status, reply = await racing.submit(player, seconds, "f", region="north" if player in north else "south")
        assert status == 200 and reply["cycle"] == cycle
    await until_cycle_end(cycle, length, settle=0.3)
    replies = await asyncio.gather(*(racing.call("manual_reset_leaderboard", {"cycle": cycle}, http_key=HTTP_KEY)
                                     for _ in range(8)))
    assert {status for status, _ in replies} == {200}
    reply = replies[0][1]
    assert [(e["user_id"], e["region"], e["coins"]) for e in reply["rewarded"]] == [
        (north[0].user_id, "north", 300), (south[0].user_id, "south", 200), (south[1].user_id, "south", 100)]
    by_region = reply["region_rewarded"]
    assert {region: [(e["user_id"], e["coins"]) for e in paid] for region, paid in by_region.items()} == {
        "north": [(north[0].user_id, 50), (north[1].user_id, 20)],
        "south": [(south[0].user_id, 50), (south[1].user_id, 20)]}
    ledger = await racing.state.db.fetch(
        "SELECT user_id::text, metadata->>'reason', metadata->>'region', (changeset->>'coins')::int FROM wallet_ledger"
        " WHERE (metadata->>'cycle')::bigint = %s ORDER BY 1, 2", (cycle,))
    assert sorted(ledger) == sorted([
        (north[0].user_id, "racing_reward", None, 300), (south[0].user_id, "racing_reward", None, 200),
        (south[1].user_id, "racing_reward", None, 100), (north[0].user_id, "racing_region_reward", "north", 50),
        (north[1].user_id, "racing_region_reward", "north", 20),
        (south[0].user_id, "racing_region_reward", "south", 50),
        (south[1].user_id, "racing_region_reward", "south", 20)])
    keys = await racing.state.db.fetch("SELECT key FROM storage WHERE collection = 'race_data' AND key LIKE %s"
                                       " AND user_id = '00000000-0000-0000-0000-000000000000' ORDER BY key",
                                       (f"snapshot_{cycle}%",))
    assert keys == [(f"snapshot_{cycle}",), (f"snapshot_{cycle}.north",), (f"snapshot_{cycle}.south",)]
    status, again = await racing.call("manual_reset_leaderboard", {"cycle": cycle}, http_key=HTTP_KEY)
    assert status == 200 and again["already_finalized"] is True
