"""Every ``nakama-py bench`` scenario, briefly, against a live nakama-py with the repository's
runtime modules: the report's structure and what it counts (never the speed). The racing
scenarios drive runtime_modules/racing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from nakama_py.bench.cli import main
from tests.support.database import create_database, drop_database, migrate
from tests.support.server import REPO, ServerProcess, start_server

CYCLE_SECONDS = 12  # short cycles, so reset-under-load need not wait long for one to end

needs_racing = pytest.mark.skipif(not (REPO / "runtime_modules" / "racing").is_dir(),
                                  reason="the racing module is missing from runtime_modules/")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # A database of its own: the racing board's cycle length is fixed per database.
    database = create_database("nakama_py_bench")
    migrate(database)
    process = start_server(tmp_path_factory.mktemp("bench"), database,
                           "--runtime.path", str(REPO / "runtime_modules"), "--logger.level", "warn",
                           "--runtime.env", f"racing_cycle_seconds={CYCLE_SECONDS}")
    try:
        yield process
    finally:
        process.stop()
        drop_database(database)


def bench(capsys: pytest.CaptureFixture[str], scenario: str, server: ServerProcess, prefix: str,
          *extra: str) -> dict[str, Any]:
    argv = [scenario, "--url", server.url, "--duration", "2s", "--warmup", "0.5s", "--connections", "8",
            "--processes", "2", "--users", "20", "--user-prefix", prefix, "--json", "--quiet", *extra]
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    report = orjson.loads(out.out.strip().splitlines()[-1])
    assert isinstance(report, dict)
    assert report["scenario"] == scenario and report["url"] == server.url
    latency = report["latency_ms"]
    assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p99_9"] <= latency["max"]
    assert report["requests"] == report["ok"] + sum(report["errors"]["status"].values())
    assert report["generator_cpu"]["cpu_s"] > 0 and report["generator_cpu"]["cores"] >= 1
    assert isinstance(report["warnings"], list)
    return report


def test_cli_runs_from_the_command_line(server: ServerProcess, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nakama_py", "bench", "echo", "--url", server.url, "--duration", "1s", "--warmup",
         "0s", "--connections", "4", "--users", "5", "--engine", "python", "--json", "--quiet"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert report["engine"] == "python" and report["ok"] == report["requests"] > 0
    help_text = subprocess.run([sys.executable, "-m", "nakama_py.bench", "--help"], capture_output=True, text=True,
                               timeout=60, check=False)
    assert help_text.returncode == 0 and "reset-under-load" in help_text.stdout


def test_auth_creates_accounts_and_counts_a_wrong_server_key(server: ServerProcess,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "auth", server, "bench-auth")
    assert report["requests"] > 0 and report["ok"] == report["requests"]
    refused = bench(capsys, "auth", server, "bench-auth", "--server-key", "not-the-key")
    assert refused["requests"] > 0 and refused["ok"] == 0
    assert refused["errors"]["status"] == {"401": refused["requests"]}


def test_account_reads_with_session_tokens(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "account", server, "bench-account", "--engine", "python")
    assert report["setup"]["users_signed_in"] == 20
    assert report["requests"] > 0 and report["ok"] == report["requests"]


def test_the_servers_memory_and_cpu_are_read_by_its_port(server: ServerProcess,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "account", server, "bench-account", "--engine", "python")
    seen = report["server"]
    assert seen["processes"] >= 1 and seen["rss_mib"] > 10 and seen["pss_mib"] > 10
    assert seen["cpu_cores"] > 0 and seen["cpu_us_per_request"] > 0
    pinned = bench(capsys, "account", server, "bench-account", "--engine", "python",
                   "--server-pid", str(server.process.pid))
    assert pinned["server"]["processes"] == seen["processes"]


@pytest.mark.parametrize("engine", ["python", "wrk"])
def test_echo_on_each_engine(server: ServerProcess, capsys: pytest.CaptureFixture[str], engine: str,
                             request: pytest.FixtureRequest) -> None:
    if engine == "wrk":
        request.getfixturevalue("wrk_installed")
    report = bench(capsys, "echo", server, "bench-echo", "--engine", engine)
    assert report["engine"] == engine and report["rpc"] == {"id": "echo", "auth": "session"}
    assert report["requests"] > 0 and report["ok"] == report["requests"]


def test_echo_counts_a_wrong_http_key(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "echo", server, "bench-echo", "--rpc-auth", "http-key", "--http-key", "not-the-key")
    assert report["requests"] > 0 and report["errors"]["status"] == {"401": report["requests"]}
    report = bench(capsys, "echo", server, "bench-echo", "--rpc-auth", "http-key", "--rate", "100")
    assert report["mode"] == "open" and report["ok"] == report["requests"] > 0


def test_a_records_sweep_runs_once_per_size(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["leaderboard-rest", "--url", server.url, "--duration", "1s", "--warmup", "0.2s", "--connections", "4",
            "--processes", "1", "--user-prefix", "bench-sweep", "--records", "40,15", "--limit", "10", "--json",
            "--quiet"]
    assert main(argv) == 0
    reports = [orjson.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["cycle"]["records"] >= size for r, size in zip(reports, (15, 40), strict=True)] == [True, True]
    assert all(r["requests"] > 0 and r["ok"] == r["requests"] for r in reports)
    assert main(["echo", "--records", "10,20"]) == 2  # no cycle to grow


@needs_racing
def test_submit_counts_the_rate_limit(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    # 3 users and the module's default 10 accepted submissions per user per minute: the rest are 429s
    # (the warm-up may already have used the allowance up).
    report = bench(capsys, "submit", server, "bench-submit", "--users", "3")
    assert report["ok"] <= 30
    assert report["errors"]["status"].get("429", 0) > 0
    assert any("429" in warning for warning in report["warnings"])


@needs_racing
def test_leaderboard_reads_a_filled_cycle(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "leaderboard", server, "bench-read", "--records", "50")
    assert report["cycle"]["records"] >= 50 and report["cycle"]["read_limit"] == 100
    assert report["requests"] > 0 and report["ok"] == report["requests"]


@needs_racing
def test_leaderboard_rest_reads_the_list_route(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "leaderboard-rest", server, "bench-rest", "--records", "30", "--limit", "10")
    assert report["cycle"]["records"] >= 30
    assert report["requests"] > 0 and report["ok"] == report["requests"]


@needs_racing
@pytest.mark.parametrize("engine", ["python", "wrk"])
def test_standings_reads_the_public_cacheable_route(server: ServerProcess, capsys: pytest.CaptureFixture[str],
                                                   engine: str) -> None:
    report = bench(capsys, "standings", server, "bench-standings", "--records", "30", "--limit", "10",
                   "--engine", engine)
    assert report["cycle"]["records"] >= 30
    assert report["requests"] > 0 and report["ok"] == report["requests"]


@needs_racing
def test_mix_reports_reads_and_submissions(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "mix", server, "bench-mix", "--records", "40", "--users", "40")
    kinds = report["kinds"]
    assert set(kinds) == {"get_leaderboard", "submit_race_time"}
    assert kinds["get_leaderboard"]["requests"] > kinds["submit_race_time"]["requests"] > 0
    assert kinds["get_leaderboard"]["errors"]["total"] == 0


def test_mid_rpc_is_called_once_during_the_window(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "mix", server, "bench-mid", "--records", "40", "--users", "40", "--mid-rpc", "run_retention")
    call = report["mid_rpc"]
    assert call["rpc"] == "run_retention" and call["status"] == 200 and call["duration_ms"] > 0
    assert set(call["reply"]) == {"records_deleted", "idempotency_keys_deleted", "duration_ms"}
    refused = bench(capsys, "echo", server, "bench-mid", "--mid-rpc", "run_retention", "--http-key", "not-the-key")
    assert refused["mid_rpc"]["status"] == 401


@needs_racing
def test_burst_is_an_open_loop_of_submissions(server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "burst", server, "bench-burst", "--rate", "100", "--warmup", "0s", "--users", "100")
    assert report["mode"] == "open" and report["rate"] == 100
    assert report["ok"] > 0


@needs_racing
def test_reset_under_load_finalizes_the_filled_cycle(server: ServerProcess, capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    page_path = tmp_path / "reset.html"
    report = bench(capsys, "reset-under-load", server, "bench-reset", "--records", "60", "--duration", "4s",
                   "--report", str(page_path))
    page = page_path.read_text()
    assert "Before, during and after the finalize" in page and "<rect" in page  # the finalize, shaded
    finalize = report["finalize"]
    assert finalize["status"] == 200 and finalize["cycle"] == report["cycle"]["cycle"]
    assert finalize["finalized_by"] in ("bench", "server") and finalize["duration_ms"] is not None
    assert set(report["phases"]) == {"before", "during", "after"}
    assert sum(p["requests"] for p in report["phases"].values()) == report["requests"] > 0


def test_report_is_a_self_contained_page(server: ServerProcess, capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    path = tmp_path / "run.html"
    report = bench(capsys, "account", server, "bench-report", "--report", str(path))
    assert report["engine"] == "python"  # it times each request
    page = path.read_text()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 2 and page.count("<polyline") == 4  # throughput and errors; p50 and p99
    assert "<script" not in page and "<link" not in page and "src=" not in page  # nothing fetched
    assert f"{report['requests']:,}" in page and f"{report['latency_ms']['p99']}" in page
