"""Tournaments: periods, joins, attempts, sizes, listing, ranks, and the end/reset hooks
fired once across two server processes."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from nakama_py.core.tournament_schedule import deadlines, moments
from nakama_py.runtime import NakamaModule
from nakama_py.state import ServerState
from tests.support.modules import write_module
from tests.support.server import start_server
from tests.support.users import TestUser, create_user

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def nk(state: ServerState) -> NakamaModule:
    assert state.runtime.nk is not None
    return state.runtime.nk


def tid() -> str:
    return "t-" + uuid.uuid4().hex[:12]


async def call(client: Client, method: str, path: str, user: TestUser, body: Any = None,
               **params: Any) -> tuple[int, Any]:
    response = await client.request(method, path, headers=user.auth,
                                    data=None if body is None else orjson.dumps(body), params=params or None)
    return response.status, await response.json()


def error(message: str, code: int) -> dict[str, Any]:
    return {"code": code, "message": message}


# --- periods ----------------------------------------------------------------------------------

def test_deadlines_without_a_schedule() -> None:
    period = deadlines(1000, 5000, 600, None, 1200)
    assert (period.start_active, period.end_active, period.expiry) == (1000, 1600, 5000)
    assert period.active(1200) and not period.active(1600)
    assert deadlines(1000, 1300, 600, None, 1200).end_active == 1300  # never past the end
    assert moments(1000, 5000, 600, None, 0, 10_000, 10) == [(1600, True, False), (5000, False, True)]


def test_deadlines_with_a_daily_schedule() -> None:
    day = 86_400
    start = 10 * day + 3600  # 01:00 on day 10
    period = deadlines(start, 0, 3600, "0 12 * * *", start + 60)  # daily at noon, one hour long
    assert (period.start_active, period.end_active, period.expiry) == (
        10 * day + 12 * 3600, 10 * day + 13 * 3600, 11 * day + 12 * 3600)
    assert not period.active(start + 60) and period.active(10 * day + 12 * 3600 + 5)
    assert moments(start, 0, 3600, "0 12 * * *", start, 11 * day + 12 * 3600, 5) == [
        (10 * day + 13 * 3600, True, False), (11 * day + 12 * 3600, False, True)]


# --- routes and rules ---------------------------------------------------------------------------

async def test_join_attempts_and_records(client: Client, state: ServerState, nk: NakamaModule) -> None:
    alice, bob = await create_user(state), await create_user(state)
    now = int(time.time())
    t = await nk.tournament_create(tid(), authoritative=False, sort_order="desc", operator="best", title="Cup",
                                   category=5, start_time=now - 10, end_time=now + 3600, duration=600,
                                   max_num_score=2, join_required=True, metadata={"prize": 3})
    assert (t.can_enter, t.duration, t.category, t.max_num_score) == (True, 600, 5, 2)
    path = f"/v2/tournament/{t.id}"
    assert await call(client, "POST", path, alice, {"score": "10"}) == (
        400, error("Must join tournament before attempting to write value.", 9))
    assert await call(client, "POST", path + "/join", alice) == (200, {})
    assert await call(client, "POST", path + "/join", alice) == (200, {})  # joining again changes nothing
    status, first = await call(client, "POST", path, alice, {"score": "10", "metadata": '{"lap": 1}'})
    assert status == 200 and (first["score"], first["num_score"], first["max_num_score"], first["rank"]) == (
        "10", 1, 2, "1")
    status, second = await call(client, "PUT", path, alice, {"score": "7"})
    assert status == 200 and (second["score"], second["num_score"]) == ("10", 2)  # best kept, attempt counted
    assert await call(client, "POST", path, alice, {"score": "99"}) == (
        400, error("Reached allowed max number of score attempts.", 9))
    await call(client, "POST", path + "/join", bob)
    await call(client, "POST", path, bob, {"score": "20"})
    status, listed = await call(client, "GET", path, alice)
    assert status == 200
    assert [(r["owner_id"], r["score"], r["rank"]) for r in listed["records"]] == [
        (bob.user_id, "20", "1"), (alice.user_id, "10", "2")]
    assert listed["records"][0]["expiry_time"]  # the period's expiry
    status, around = await call(client, "GET", f"{path}/owner/{alice.user_id}", alice, limit=1)
    assert status == 200 and [r["owner_id"] for r in around["records"]] == [alice.user_id]
    # a tournament is not a leaderboard
    assert await call(client, "GET", f"/v2/leaderboard/{t.id}", alice) == (404, error("Leaderboard not found.", 5))


async def test_size_authority_and_activity(client: Client, state: ServerState, nk: NakamaModule) -> None:
    alice, bob = await create_user(state), await create_user(state)
    now = int(time.time())
    small = await nk.tournament_create(tid(), authoritative=False, start_time=now - 10, duration=600, max_size=1)
    assert (await call(client, "POST", f"/v2/tournament/{small.id}", alice, {"score": "1"}))[0] == 200
    assert await call(client, "POST", f"/v2/tournament/{small.id}", bob, {"score": "1"}) == (
        400, error("Tournament has reached max size.", 9))
    [listed] = await nk.tournaments_get_id([small.id])
    assert (listed.size, listed.can_enter) == (1, False)
    locked = await nk.tournament_create(tid(), start_time=now - 10, duration=600)  # authoritative by default
    assert await call(client, "POST", f"/v2/tournament/{locked.id}", alice, {"score": "1"}) == (
        403, error("Tournament only allows authoritative score submissions.", 7))
    record = await nk.tournament_record_write(locked.id, alice.user_id, alice.username, 5)
    assert record.score == 5 and record.rank == 1
    later = await nk.tournament_create(tid(), authoritative=False, start_time=now + 3600, duration=600)
    assert await call(client, "POST", f"/v2/tournament/{later.id}", alice, {"score": "1"}) == (
        400, error("Tournament is not active and cannot accept new scores.", 9))
    assert await call(client, "POST", f"/v2/tournament/{uuid.uuid4()}", alice, {"score": "1"}) == (
        404, error("Tournament not found.", 5))


async def test_list_filters(client: Client, state: ServerState, nk: NakamaModule) -> None:
    alice = await create_user(state)
    now = int(time.time())
    category = 100 + uuid.uuid4().int % 20
    open_ended = await nk.tournament_create(tid(), category=category, start_time=now - 5, duration=60)
    ending = await nk.tournament_create(tid(), category=category, start_time=now - 5, end_time=now + 60,
                                        duration=60)
    status, body = await call(client, "GET", "/v2/tournament", alice, category_start=category,
                              category_end=category)
    assert status == 200 and {t["id"] for t in body["tournaments"]} == {open_ended.id, ending.id}
    item = next(t for t in body["tournaments"] if t["id"] == ending.id)
    assert (item["category"], item["duration"], item["can_enter"], item["max_num_score"]) == (
        category, 60, True, 1000000)
    _, never_ending = await call(client, "GET", "/v2/tournament", alice, category_start=category,
                                 category_end=category, end_time=0)
    assert [t["id"] for t in never_ending["tournaments"]] == [open_ended.id]
    _, page = await call(client, "GET", "/v2/tournament", alice, category_start=category, category_end=category,
                         limit=1)
    assert len(page["tournaments"]) == 1 and page["cursor"]
    _, rest = await call(client, "GET", "/v2/tournament", alice, category_start=category, category_end=category,
                         limit=1, cursor=page["cursor"])
    assert [t["id"] for t in rest["tournaments"]] != [t["id"] for t in page["tournaments"]]
    assert await call(client, "GET", "/v2/tournament", alice, category_end=128) == (
        400, error("Tournament category end must be >=0 and <128.", 3))
    assert await call(client, "GET", "/v2/tournament", alice, category_start=5, category_end=4) == (
        400, error("Tournament category end must be greater than category start.", 3))
    assert await call(client, "GET", "/v2/tournament", alice, limit=101) == (
        400, error("Limit must be between 1 and 100.", 3))


# --- hooks across processes ---------------------------------------------------------------------

HOOK_MODULE = """
import os

async def on_end(ctx, logger, nk, tournament, end, reset):
    await nk.sql_exec("INSERT INTO {table} (tournament, kind, moment, node) VALUES (%s, 'end', %s, %s)",
                      [tournament.id, end, os.environ.get("HOOK_NODE", "")])

async def on_reset(ctx, logger, nk, tournament, end, reset):
    await nk.sql_exec("INSERT INTO {table} (tournament, kind, moment, node) VALUES (%s, 'reset', %s, %s)",
                      [tournament.id, reset, os.environ.get("HOOK_NODE", "")])

def init_module(ctx, logger, nk, initializer):
    initializer.register_tournament_end(on_end)
    initializer.register_tournament_reset(on_reset)
"""


async def test_end_and_reset_hooks_fire_once_with_two_server_processes(state: ServerState, nk: NakamaModule,
                                                                       database_url: str, tmp_path: Path) -> None:
    table = f"tournament_calls_{uuid.uuid4().hex[:8]}"
    await state.db.execute("CREATE TABLE " + table + " (tournament TEXT, kind TEXT, moment BIGINT, node TEXT)")
    modules = tmp_path / "modules"
    write_module(modules, "tournament_hooks_mod.py", HOOK_MODULE.replace("{table}", table))
    servers = [start_server(tmp_path / f"s{index}", database_url, "--runtime.path", str(modules),
                            env={"HOOK_NODE": f"s{index}"}) for index in range(2)]
    try:
        now = int(time.time())
        # active for 3 s, its records expire 6 s after the start: the end falls during the test
        tournament = await nk.tournament_create(tid(), start_time=now, end_time=now + 6, duration=3)
        deadline = time.time() + 40
        rows: list[tuple[Any, ...]] = []
        while time.time() < deadline:
            rows = await state.db.fetch("SELECT kind, moment, node FROM " + table + " WHERE tournament = %s",
                                        (tournament.id,))
            if len(rows) >= 2:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # time for a duplicate to show, if there were one
        rows = await state.db.fetch("SELECT kind, moment, node FROM " + table + " WHERE tournament = %s"
                                    " ORDER BY moment", (tournament.id,))
        assert [(kind, moment) for kind, moment, _ in rows] == [("end", now + 3), ("reset", now + 6)]
    finally:
        for server in servers:
            server.stop()
        await state.db.execute("DROP TABLE IF EXISTS " + table)


async def test_concurrent_attempts_stop_at_max_num_score(client: Client, state: ServerState,
                                                         nk: NakamaModule) -> None:
    alice = await create_user(state)
    now = int(time.time())
    t = await nk.tournament_create(tid(), authoritative=False, operator="incr", start_time=now - 5, duration=600,
                                   max_num_score=3)
    results = await asyncio.gather(*(call(client, "POST", f"/v2/tournament/{t.id}", alice, {"score": "1"})
                                     for _ in range(8)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 3 + [400] * 5
    assert all(body == error("Reached allowed max number of score attempts.", 9)
               for status, body in results if status == 400)
    records = await nk.tournament_records_list(t.id, owner_ids=[alice.user_id])
    assert [(r.score, r.num_score) for r in records.owner_records] == [(3, 3)]


async def test_delete_frees_the_place_and_extra_attempts(client: Client, state: ServerState,
                                                         nk: NakamaModule) -> None:
    alice, bob = await create_user(state), await create_user(state)
    now = int(time.time())
    t = await nk.tournament_create(tid(), authoritative=False, start_time=now - 5, duration=600, max_size=1,
                                   max_num_score=1)
    path = f"/v2/tournament/{t.id}"
    assert (await call(client, "POST", path, alice, {"score": "3"}))[0] == 200
    assert (await call(client, "POST", path, alice, {"score": "4"}))[1] == error(
        "Reached allowed max number of score attempts.", 9)
    await nk.tournament_add_attempt(t.id, alice.user_id, 1)
    status, record = await call(client, "POST", path, alice, {"score": "4"})
    assert status == 200 and (record["score"], record["num_score"], record["max_num_score"]) == ("4", 2, 2)
    assert (await call(client, "POST", path, bob, {"score": "1"}))[1] == error("Tournament has reached max size.", 9)
    assert await call(client, "DELETE", path, alice) == (200, {})
    status, listed = await call(client, "GET", path, alice)
    assert status == 200 and "records" not in listed
    assert (await call(client, "POST", path, bob, {"score": "1"}))[0] == 200  # the place was freed
    locked = await nk.tournament_create(tid(), start_time=now - 5, duration=600)
    await nk.tournament_record_write(locked.id, alice.user_id, score=1)
    assert await call(client, "DELETE", f"/v2/tournament/{locked.id}", alice) == (
        403, error("Tournament only allows authoritative score deletions.", 7))
    await nk.tournament_record_delete(locked.id, alice.user_id)
    assert (await nk.tournament_records_list(locked.id)).records == []
