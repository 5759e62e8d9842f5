"""The racing module's live race end to end with the real nakama-js 2.8.0: four players matchmake
into the authoritative race, race, and find their server-measured times on the leaderboard; a
client claiming impossible progress is refused and finishes at its real pace."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.support.node import run_client
from tests.support.racing import racing_flags
from tests.support.server import start_server


def test_four_players_matchmake_race_and_get_their_times(tmp_path: Path, database_url: str) -> None:
    flags = [*racing_flags(tmp_path, cycle_seconds=86400, track_meters=100, max_speed_mps=50),
             "--matchmaker.interval_sec", "1"]
    server = start_server(tmp_path, database_url, *flags)
    try:
        result = run_client("race.mjs", server.port, timeout=90,
                            env={"RUN_TAG": secrets.token_hex(4), "TRACK_METERS": "100",
                                 "NODE_OPTIONS": "--experimental-websocket"})
    finally:
        server.stop()
    assert len(result["matched_ids"]) == 1 and result["matched_ids"][0].count(".") == 1
    assert not result["matched_ids"][0].endswith(".")  # an authoritative match, not a relayed one
    assert result["start"] == {"track_meters": 100, "max_speed_mps": 50}
    assert result["rejected"] == [0, 0, 0, 1]  # only the cheater's jump was refused
    results = result["results"]
    assert results["did_not_finish"] == []
    by_user = {entry["user_id"]: entry for entry in results["results"]}
    users = result["user_ids"]
    assert [entry["user_id"] for entry in results["results"]] == users  # faster drivers finished first
    # Times the server measured: 100 m at 45, 40, 35 and 25 m/s, within a few ticks.
    for user, speed in zip(users, (45, 40, 35, 25), strict=True):
        assert abs(by_user[user]["seconds"] - 100 / speed) < 0.6, (user, by_user[user])
    records = {r["owner_id"]: r for r in result["owner_records"]}
    assert set(records) == set(users)
    for user in users:
        assert records[user]["score"] == round(by_user[user]["seconds"] * 1000)
        assert records[user]["metadata"]["race"] == result["matched_ids"][0]
