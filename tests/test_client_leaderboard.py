"""The real nakama-js 2.8.0 against a live server: leaderboard write, list, around-owner and
delete on set, best and incr boards (the best rule: 10/1 then 1/20 gives 10/20)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from nakama_py.state import ServerState
from tests.support.node import run_client
from tests.support.server import start_server
from tests.support.users import create_user_in


@pytest.fixture
async def observed(state: ServerState, tmp_path: Path, database_url: str) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    boards = {kind: f"js-{kind}-{suffix}" for kind in ("set", "best", "incr", "authoritative")}
    for kind in ("set", "best", "incr"):
        await state.leaderboards.create(boards[kind], operator=kind)
    await state.leaderboards.create(boards["authoritative"], authoritative=True)
    alice, bob = create_user_in(database_url, f"alice_{suffix}"), create_user_in(database_url, f"bob_{suffix}")
    server = start_server(tmp_path, database_url)
    try:
        result: dict[str, Any] = run_client("leaderboard.mjs", server.port, env={
            "BOARDS": json.dumps(boards), "ALICE_TOKEN": alice.token, "ALICE_REFRESH": alice.refresh_token,
            "BOB_TOKEN": bob.token, "BOB_REFRESH": bob.refresh_token})
    finally:
        server.stop()
    result["names"] = {"alice": alice.username, "bob": bob.username}
    return result


def test_nakama_js_leaderboards(observed: dict[str, Any]) -> None:
    alice, bob = observed["alice"], observed["bob"]
    names = observed["names"]
    expected_second = {"set": (1, 20, 2), "best": (10, 20, 2), "incr": (11, 21, 2)}
    for kind, (score, subscore, num_score) in expected_second.items():
        result = observed[kind]
        first, second = result["first"], result["second"]
        assert (first["score"], first["subscore"], first["num_score"], first["rank"]) == (10, 1, 1, 1), kind
        assert first["metadata"] == {"lap": 1} and first["username"] == names["alice"], kind
        assert first["max_num_score"] == 1000000 and first["has_update_time"], kind
        assert (second["score"], second["subscore"], second["num_score"]) == (score, subscore, num_score), kind
        assert second["metadata"] == {"lap": 1}, kind  # no new metadata: the old one stays
        # bob (7/3) is behind alice on every board except set, where alice now has 1/20.
        alice_first = kind != "set"
        top, other = (alice, bob) if alice_first else (bob, alice)
        assert result["other"]["rank"] == (2 if alice_first else 1), kind
        page = result["page"]
        assert [(r["owner_id"], r["rank"]) for r in page["records"]] == [(top, 1)], kind
        assert [(r["owner_id"], r["rank"]) for r in page["owner_records"]] == [(top, 1), (other, 2)], kind
        assert page["rank_count"] == 2 and page["has_next"] and not page["has_prev"], kind
        nxt = result["next"]
        assert [(r["owner_id"], r["rank"]) for r in nxt["records"]] == [(other, 2)], kind
        assert nxt["has_prev"] and not nxt["has_next"], kind
        around = result["around"]
        assert [(r["owner_id"], r["rank"]) for r in around["records"]] == [(top, 1), (other, 2)], kind
        assert result["deleted"] == {}, kind
        after = result["after"]
        assert [r["owner_id"] for r in after["records"]] == [bob] and after["owner_records"] == [], kind
        assert after["rank_count"] == 1, kind
    assert observed["best"]["second"]["score"] == 10 and observed["best"]["second"]["subscore"] == 20
    assert observed["refused"] == {"ok": False, "status": 403, "body": {
        "code": 7, "message": "Leaderboard only allows authoritative score submissions."}}
    assert observed["missing"] == {"ok": False, "status": 404, "body": {"code": 5, "message": "Leaderboard not found."}}
