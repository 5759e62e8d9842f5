"""``nakama-py bench`` socket scenarios against a live server: each runs and reports what it measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.server import REPO, start_server


def bench(*args: str) -> dict[str, object]:
    result = subprocess.run([sys.executable, "-m", "nakama_py", "bench", *args, "--json", "--quiet"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_socket_scenarios(tmp_path: Path, database_url: str) -> None:
    modules = tmp_path / "modules"  # the example module's echo only: racing would claim the shared database
    modules.mkdir()
    (modules / "example.py").symlink_to(REPO / "runtime_modules" / "example.py")
    (modules / "bench_matches.py").symlink_to(REPO / "runtime_modules" / "bench_matches.py")
    args = ("--runtime.path", str(modules), "--session.token_expiry_sec", "7200")
    first = start_server(tmp_path / "a", database_url, *args, "--name", "bench-a")
    second = start_server(tmp_path / "b", database_url, *args, "--name", "bench-b")
    try:
        idle = bench("socket-idle", "--url", first.url, "--users", "30", "--duration", "0.5",
                     "--server-pid", str(first.process.pid), "--user-prefix", "sock-idle")
        assert idle["sockets"] == idle["still_open_after_hold"] == 30
        assert isinstance(idle["kib_per_idle_socket"], float)
        rpc = bench("socket-rpc", "--url", first.url, "--connections", "4", "--warmup", "0.2", "--duration", "1",
                    "--user-prefix", "sock-rpc")
        assert isinstance(rpc["calls"], int) and rpc["calls"] > 0
        fanout = bench("socket-fanout", "--url", first.url, "--extra-url", second.url, "--members", "10",
                       "--rate", "20", "--duration", "1", "--user-prefix", "sock-fan")
        assert fanout["nodes"] == 2 and fanout["deliveries"] == fanout["expected_deliveries"]
        assert isinstance(fanout["messages_sent"], int) and fanout["messages_sent"] >= 10
        matches = bench("socket-matches", "--url", first.url, "--extra-url", second.url, "--matches", "3",
                        "--players", "4", "--warmup", "0.5", "--duration", "2", "--server-pid",
                        str(first.process.pid), "--user-prefix", "sock-match")
        assert matches["players_joined"] == 12 and matches["join_errors"] == 0
        assert isinstance(matches["ticks_measured"], int) and matches["ticks_measured"] > 0
        assert isinstance(matches["tick_lateness_p99_ms"], float) and matches["tick_lateness_p99_ms"] >= 0
        assert isinstance(matches["broadcasts_received_per_s"], float) and matches["broadcasts_received_per_s"] > 0
        assert isinstance(matches["server_cpu_ms_per_match_per_s"], float)
    finally:
        first.stop()
        second.stop()
