"""RPCs from the real nakama-js 2.8.0 against a live server running the example module."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.support.node import run_client
from tests.support.server import REPO, start_server
from tests.support.users import create_user_in

INPUT = {"track": "Zoë's <Ring> & \"Loop\"", "emoji": "🏎️", "laps": [81.25, 79, None, True],
         "nested": {"back\\slash": "tab\there", "newline": "a\nb", "sep": "\u2028"}, "empty": {}}
RAW_BODY = "lap 1: 81.25s <fast> & clean\nlap 2: 79.00s ✓"


def go_json_string_reply(payload: str) -> str:
    """``{"payload": ...}`` as Go's encoding/json writes it: <, >, &, U+2028 and U+2029 escaped."""
    body = json.dumps({"payload": payload}, ensure_ascii=False, separators=(",", ":"))
    for char in "<>&\u2028\u2029":
        body = body.replace(char, f"\\u{ord(char):04x}")
    return body


def test_nakama_js_calls_rpcs(tmp_path: Path, database_url: str) -> None:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "example.py").symlink_to(REPO / "runtime_modules" / "example.py")
    user = create_user_in(database_url)
    server = start_server(tmp_path, database_url, "--runtime.path", str(modules))
    try:
        result = run_client("rpc.mjs", server.port, env={
            "NAKAMA_TOKEN": user.token, "NAKAMA_REFRESH_TOKEN": user.refresh_token,
            "RPC_INPUT": json.dumps(INPUT), "RAW_BODY": RAW_BODY})
    finally:
        server.stop()

    assert result["user_id"] == user.user_id
    assert result["echoed"] == INPUT
    assert result["by_key"] == INPUT                     # GET ?payload= reached the function
    assert result["stored"]["user_id"] == user.user_id
    assert result["stored"]["value"] == {"track": "monza", "best_ms": 81234}

    wire = result["wire"]
    assert (wire["status"], wire["type"]) == (200, "application/json")
    body = base64.b64decode(wire["body_base64"])
    assert json.loads(body) == {"payload": result["sent"]}       # the payload came back byte for byte
    assert body == go_json_string_reply(result["sent"]).encode()  # in Go's encoding, as Nakama writes it

    assert result["unwrapped"] == {"status": 200, "type": "text/x-lap-times", "body": RAW_BODY}

    error = result["error"]
    assert (error["ok"], error["status"]) == (False, 403)
    assert error["body"] == {"code": 7, "error": {"Message": "Not your race.", "Code": 7},
                             "message": "Not your race."}
    missing = result["missing"]
    assert (missing["status"], missing["body"]["code"], missing["body"]["message"]) == (
        404, 5, "RPC function not found")
    bad_key = result["bad_key"]
    assert (bad_key["status"], bad_key["body"]) == (401, {"error": "HTTP key invalid", "message": "HTTP key invalid",
                                                          "code": 16})
