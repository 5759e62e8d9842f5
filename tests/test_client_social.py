"""The real nakama-js 2.8.0 uses users, friends and groups on a live nakama-py (the scenarios of
its own client-user, client-friend and client-group tests)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.support.node import run_client
from tests.support.server import start_server


def test_nakama_js_social(tmp_path: Path, database_url: str) -> None:
    server = start_server(tmp_path, database_url)
    try:
        out = run_client("social.mjs", server.port, env={"SOCIAL_RUN": "js" + uuid.uuid4().hex[:10]})
    finally:
        server.stop()

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
