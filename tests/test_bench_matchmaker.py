"""``nakama-py bench socket-matchmaker`` against two live nodes: every player is matched, in pairs."""

from __future__ import annotations

from pathlib import Path

from tests.support.server import start_server
from tests.test_bench_sockets import bench


def test_socket_matchmaker_scenario_matches_every_pair(tmp_path: Path, database_url: str) -> None:
    args = ("--matchmaker.interval_sec", "1", "--session.token_expiry_sec", "7200")
    first = start_server(tmp_path / "a", database_url, *args, "--name", "bench-a")
    second = start_server(tmp_path / "b", database_url, *args, "--name", "bench-b")
    try:
        report = bench("socket-matchmaker", "--url", first.url, "--extra-url", second.url, "--groups", "10",
                       "--user-prefix", "mm-bench")
        assert (report["nodes"], report["players"], report["players_matched"]) == (2, 20, 20)
        assert report["groups_of_two"] == 10 and report["add_errors"] == 0
        assert isinstance(report["first_to_all_matched_s"], float)
    finally:
        second.stop()
        first.stop()
