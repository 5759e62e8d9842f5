"""``GET /racing/standings[/{cycle}]``: the public, cacheable standings (headers, validators, 304, errors)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from nakama_py.app import build_app
from nakama_py.config import load_config, parse_flags
from nakama_py.state import ServerState, build_state
from tests.support.database import create_database, drop_database, migrate
from tests.support.racing import racing_flags, rpc
from tests.support.users import create_user
from tests.support.wire_server import WireTestServer

DAY = 86400
Client = TestClient[Any, Any]


@pytest.fixture(scope="module")
def standings_db() -> Iterator[str]:
    url = create_database("nakama_py_standings")
    migrate(url)
    yield url
    drop_database(url)


@pytest.fixture
async def served(standings_db: str, tmp_path: Path,
                 aiohttp_client: Callable[..., Any]) -> AsyncIterator[tuple[ServerState, Client]]:
    flags = ["--database.address", standings_db, "--data_dir", str(tmp_path / "data"), "--logger.level", "warn",
             *racing_flags(tmp_path, cycle_seconds=DAY, leaderboard_cache_ms=3000)]
    files, parsed = parse_flags(flags)
    state = await build_state(load_config(files, parsed, environ={}), standings_db)
    try:
        yield state, await aiohttp_client(WireTestServer(build_app(state)))
    finally:
        await state.close()


async def submit(state: ServerState, api: Client, seconds: float, key: str) -> dict[str, Any]:
    user = await create_user(state)
    status, reply = await rpc(api, "", "submit_race_time", {"race_time": seconds, "idempotency_key": key},
                              token=user.token)
    assert status == 200, reply
    return {"user_id": user.user_id, "username": user.username, **reply}


async def test_current_standings_are_public_cacheable_and_validated(served: tuple[ServerState, Client]) -> None:
    state, api = served
    first = await submit(state, api, 50.0, "a")
    response = await api.get("/racing/standings?limit=5")
    assert response.status == 200
    body = await response.json()
    cycle = int(time.time() // DAY)
    assert body["cycle"] == cycle and body["total"] >= 1
    assert "me" not in body
    assert {"rank": 1, "user_id": first["user_id"], "username": first["username"], "race_time_ms": 50000} \
        in body["entries"] or body["entries"][0]["race_time_ms"] <= 50000
    assert set(body["entries"][0]) == {"rank", "user_id", "username", "race_time_ms"}
    assert response.headers["Cache-Control"] == "public, max-age=3, stale-while-revalidate=3"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    parsedate_to_datetime(response.headers["Last-Modified"])

    again = await api.get("/racing/standings?limit=5")
    assert again.headers["ETag"] == etag  # nothing changed: the same tag
    current = await api.get("/racing/standings?limit=5", headers={"If-None-Match": etag})
    assert current.status == 304
    assert await current.read() == b""
    assert current.headers["ETag"] == etag
    assert current.headers["Cache-Control"].startswith("public, max-age=3")

    await submit(state, api, 10.0, "b")  # a new leader: the standings changed
    changed = await api.get("/racing/standings?limit=5", headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert (await changed.json())["entries"][0]["race_time_ms"] == 10000
    by_cycle = await api.get(f"/racing/standings/{cycle}?limit=5")
    assert by_cycle.headers["ETag"] == changed.headers["ETag"]  # the same standings, the same tag


async def test_a_finished_cycle_is_cacheable_for_long(served: tuple[ServerState, Client]) -> None:
    _, api = served
    yesterday = int(time.time() // DAY) - 1
    response = await api.get(f"/racing/standings/{yesterday}")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=86400, immutable"
    assert parsedate_to_datetime(response.headers["Last-Modified"]).timestamp() == (yesterday + 1) * DAY + 1
    assert (await response.json())["cycle"] == yesterday


async def test_bad_requests_are_refused_with_the_rpc_messages(served: tuple[ServerState, Client]) -> None:
    _, api = served
    cycle = int(time.time() // DAY)
    cases = {
        "/racing/standings?limit=0": (400, 3, "limit must be an integer, 1 to 1000"),
        "/racing/standings?limit=abc": (400, 3, "limit must be an integer, 1 to 1000"),
        "/racing/standings/x": (400, 3, "cycle must be an integer, at least 0"),
        f"/racing/standings/{cycle + 1}": (400, 3, f"cycle {cycle + 1} has not started yet (the current cycle is "
                                                   f"{cycle})"),
        f"/racing/standings/{cycle - 30}": (404, 5, f"cycle {cycle - 30} is no longer kept"),
    }
    for path, (status, code, message) in cases.items():
        response = await api.get(path)
        assert (response.status, await response.json()) == (status, {"code": code, "message": message}), path
    assert (await api.post("/racing/standings")).status == 501
