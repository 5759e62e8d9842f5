"""The real nakama-js 2.8.0 uses storage on a live nakama-py: permissions, versions, lists, deletes."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

from tests.support.node import run_client
from tests.support.server import start_server
from tests.support.users import create_user_in


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def js(value: object) -> str:
    """JSON.stringify's text for plain values: what nakama-js sends as a storage value."""
    return json.dumps(value, separators=(",", ":"))


def test_nakama_js_storage(tmp_path: Path, database_url: str) -> None:
    alice = create_user_in(database_url)
    bob = create_user_in(database_url)
    collection = "js" + uuid.uuid4().hex[:10]
    server = start_server(tmp_path, database_url)
    try:
        out = run_client("storage.mjs", server.port, env={
            "STORAGE_COLLECTION": collection, "ALICE_ID": alice.user_id,
            "ALICE_TOKEN": alice.token, "ALICE_REFRESH": alice.refresh_token,
            "BOB_TOKEN": bob.token, "BOB_REFRESH": bob.refresh_token,
        })
    finally:
        server.stop()

    acks = out["written"]["acks"]
    assert [a["key"] for a in acks] == ["slot", "profile", "secret"]
    assert acks[0]["version"] == md5(js({"hp": 10, "items": ["sword"]}))
    assert {a["user_id"] for a in acks} == {alice.user_id}

    # The owner reads what read permission 1 and 2 allow; read 0 is runtime-only.
    reads = out["aliceReads"]["objects"]
    assert [(o["key"], o["value"], o["permission_read"], o["permission_write"]) for o in reads] == [
        ("slot", {"hp": 10, "items": ["sword"]}, 1, 1), ("profile", {"level": 3}, 2, 1)]
    assert [o["key"] for o in out["bobReadsAlice"]["objects"]] == ["profile"]

    assert out["update"]["acks"][0]["version"] == md5(js({"hp": 9, "items": ["sword"]}))
    version_failed = {"code": 3, "message": "Storage write rejected - version check failed."}
    assert out["staleUpdate"] == {"ok": False, "status": 400, "body": version_failed}
    assert out["createExisting"] == {"ok": False, "status": 400, "body": version_failed}
    assert out["lockedUpdate"] == {"ok": False, "status": 400,
                                   "body": {"code": 3, "message": "Storage write rejected - permission denied."}}
    assert out["notAnObject"] == {"ok": False, "status": 400,
                                  "body": {"code": 3, "message": "Value must be a JSON object."}}

    # Own listing: read >= 1 by read then key, one per page by default of the limit given.
    assert out["ownPages"] == {"first": ["slot:alice"], "second": ["profile:alice"], "cursors": [True, False]}
    assert sorted(out["publicList"]) == ["profile:alice", "profile:bob"]
    assert out["bobListsAlice"] == ["profile:alice"]
    assert out["badCursor"] == {"ok": False, "status": 400,
                                "body": {"code": 3, "message": "Malformed cursor was used."}}

    delete_rejected = {"code": 3,
                       "message": "Storage delete rejected - not found, version check failed, or permission denied."}
    assert out["staleDelete"] == {"ok": False, "status": 400, "body": delete_rejected}
    assert out["lockedDelete"] == {"ok": False, "status": 400, "body": delete_rejected}
    assert out["deleted"] is True
    assert out["deleteAgain"] == {"ok": False, "status": 400, "body": delete_rejected}
    assert out["afterDelete"] == {"objects": []}
