"""The real nakama-js 2.8.0 uses users, friends and groups on a live nakama-py (the scenarios of
its own client-user, client-friend and client-group tests)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from nakama_py.state import ServerState
from tests.support.node import run_client
from tests.support.server import start_server


async def test_nakama_js_social(tmp_path: Path, database_url: str, state: ServerState) -> None:
    assert state.runtime.nk is not None
    tournament = await state.runtime.nk.tournament_create(
        "js-" + uuid.uuid4().hex[:10], authoritative=False, category=77, start_time=int(time.time()) - 5,
        duration=3600, max_num_score=2, join_required=True)
    server = start_server(tmp_path, database_url)
    try:
        out = await asyncio.to_thread(run_client, "social.mjs", server.port, env={
            "SOCIAL_RUN": "js" + uuid.uuid4().hex[:10], "TOURNAMENT_ID": tournament.id})
    finally:
        server.stop()
        await state.tournaments.delete(tournament.id)

    assert len(out["twoUsers"]["users"]) == 2
    assert not out["noUsers"].get("users")
    assert (out["inviteSent"], out["inviteReceived"], out["accepted"], out["blocked"]) == ([1], [2], [0], [3])
    assert out["rejected"] == 0
    assert out["friendsOfFriends"] == [True]
    assert out["addSelf"] == {"ok": False, "status": 400, "body": {"code": 3, "message": "Cannot add self as friend."}}

    created = out["created"]
    assert (created["edge_count"], created["max_count"], created["metadata"], created["open"]) == (1, 100, {}, True)
    [listed] = out["userGroups"]["user_groups"]
    assert (listed["state"], listed["group"]["metadata"], listed["group"]["open"]) == (0, {}, True)
    assert out["renamed"].endswith("-g1b") and len(out["listed"]["groups"]) == 1
    assert out["afterDelete"] == 0

    assert out["joined"] == [0, 2] and (out["joinedCount"], out["leftCount"]) == (2, 1)
    assert out["promotedTwice"] == [0, 0, 2] and out["kicked"] == [0, 0]
    assert out["bannedMembers"] == 0 and out["selfDemote"] == 2
    assert out["requested"] == [0, 3] and out["requestedCount"] == 1
    assert out["promotedRequest"] == [0, 2] and out["promotedCount"] == 2
    assert out["lastSuperadminLeaves"]["body"] == {
        "code": 3, "message": "Cannot leave group when you are the last superadmin."}

    assert tournament.id in out["tournaments"]
    assert out["writeBeforeJoin"]["body"] == {
        "code": 9, "message": "Must join tournament before attempting to write value."}
    first = out["firstWrite"]
    # nakama-js turns the int64 strings into numbers
    assert (first["score"], first["num_score"], first["max_num_score"], first["metadata"]) == (10, 1, 2, {"lap": 1})
    assert out["thirdWrite"] == {"ok": False, "status": 400, "body": {
        "code": 9, "message": "Reached allowed max number of score attempts."}}
    assert out["records"] == [[True, 12, 1], [False, 11, 2]]
    assert out["around"] == [2]
