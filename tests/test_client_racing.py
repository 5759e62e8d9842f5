"""The racing game with the real, unmodified nakama-js 2.8.0."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.support.node import run_client
from tests.support.racing import racing_flags
from tests.support.server import start_server


def test_nakama_js_plays_a_race(tmp_path: Path, own_database: str) -> None:
    # A database of its own: other tests' times in the shared one's day-long cycle would push this player
    # out of the top 100 the test reads.
    server = start_server(tmp_path, own_database, *racing_flags(tmp_path, cycle_seconds=86400))
    try:
        result = run_client("racing.mjs", server.port, env={"RUN_TAG": secrets.token_hex(4)})
    finally:
        server.stop()
    submitted = result["submitted"]
    assert submitted["success"] is True and submitted["race_time_ms"] == 41237
    assert result["replayed"] == submitted  # the same reply for a replayed key
    board = result["board"]
    assert board["me"] == {"rank": submitted["rank"], "race_time_ms": 41237}
    assert any(entry["user_id"] == result["user_id"] for entry in board["entries"])
    assert result["backend"]["me"] is None and len(result["backend"]["entries"]) == 1
    assert result["invalid"]["status"] == 400 and "race_time" in result["invalid"]["body"]["message"]
    assert result["forbidden"]["status"] == 403
