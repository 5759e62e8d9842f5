"""The load generator against a stand-in server: both loops, both engines, what gets counted,
coordinated omission, token refresh and the reset-under-load timeline. Never its speed."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from nakama_py.bench import scenarios
from nakama_py.bench.cli import main
from nakama_py.bench.engine import LoadPlan, RunningLoad
from nakama_py.bench.histogram import Histogram, bucket_bounds, bucket_index
from nakama_py.bench.http1 import ProtocolError, ResponseParser
from nakama_py.bench.results import LoadResult
from nakama_py.bench.target import Target
from nakama_py.bench.traffic import TrafficSpec
from tests.support.bench_standin import StandIn, StandInConfig, standin

pytestmark = pytest.mark.slow  # the load generator spawns worker processes

__all__ = ["standin"]  # the fixture, used by name below

needs_wrk = pytest.mark.usefixtures("wrk_installed")  # fails, never skips, without wrk


def bench(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """Runs ``nakama-py bench`` in this process; its JSON report."""
    code = main([*argv, "--json", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = orjson.loads(out.out.strip().splitlines()[-1])
    assert isinstance(report, dict)
    return report


def short(url: str, *extra: str) -> list[str]:
    return ["--url", url, "--duration", "2s", "--warmup", "0.5s", "--connections", "8", "--processes", "2",
            "--users", "20", *extra]


def check_structure(report: dict[str, Any]) -> None:
    for key in ("scenario", "engine", "mode", "requests", "requests_per_s", "latency_ms", "errors",
                "generator_cpu", "warnings", "setup"):
        assert key in report, key
    assert set(report["latency_ms"]) == {"p50", "p90", "p99", "p99_9", "max", "mean"}
    latency = report["latency_ms"]
    assert latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p99_9"] <= latency["max"]
    assert set(report["generator_cpu"]) >= {"cpu_s", "wall_s", "cores", "machine_percent", "busiest_process_percent"}
    assert report["generator_cpu"]["cpu_s"] > 0


# -- pieces ------------------------------------------------------------------------------------


def test_histogram_keeps_three_significant_digits() -> None:
    rng = random.Random(7)
    values = sorted(int(rng.lognormvariate(8, 2)) for _ in range(20000))
    histogram = Histogram()
    histogram.record_many(values)
    for percent in (50, 90, 99, 99.9):
        exact = values[max(0, math.ceil(len(values) * percent / 100) - 1)]
        assert abs(histogram.percentile(percent) - exact) <= max(1, exact / 1000), percent
    assert histogram.max == values[-1] and histogram.min == values[0] and histogram.count == len(values)
    for value in (0, 1, 2047, 2048, 2049, 4095, 4096, 10**6, 10**9):
        low, high = bucket_bounds(bucket_index(value))
        assert low <= value <= high and (high - low) <= max(0, value // 1000)


def test_histogram_merges_and_travels_as_data() -> None:
    a, b = Histogram(), Histogram()
    a.record_many(range(0, 5000))
    b.record_many(range(5000, 100000, 7))
    merged = Histogram.from_data(a.to_data())
    merged.merge(Histogram.from_data(b.to_data()))
    direct = Histogram()
    direct.record_many([*range(0, 5000), *range(5000, 100000, 7)])
    assert [merged.percentile(p) for p in (1, 50, 99.9)] == [direct.percentile(p) for p in (1, 50, 99.9)]
    assert (merged.count, merged.max, merged.total) == (direct.count, direct.max, direct.total)


def parse(*chunks: bytes, keep_body: bool = True) -> list[tuple[int, bytes, bool]]:
    seen: list[tuple[int, bytes, bool]] = []
    parser = ResponseParser(lambda status, body, close: seen.append((status, body, close)), keep_body=keep_body)
    for chunk in chunks:
        parser.feed(chunk)
    return seen


def test_parser_reads_lengths_chunks_and_pipelined_responses_in_any_split() -> None:
    stream = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
              b"HTTP/1.1 100 Continue\r\n\r\n"
              b"HTTP/1.1 401 Unauthorized\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
              b"HTTP/1.1 204 No Content\r\n\r\n"
              b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz")
    expected = [(200, b"{}", False), (401, b"abcde", False), (204, b"", False), (200, b"xyz", True)]
    assert parse(stream) == expected
    for size in (1, 2, 7, 33):
        assert parse(*(stream[i:i + size] for i in range(0, len(stream), size))) == expected
    assert parse(stream, keep_body=False) == [(s, b"", c) for s, _, c in expected]


def test_parser_reads_one_whole_answer_per_read_the_same_way() -> None:
    answers = [
        (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 16\r\n\r\n{\"payload\":\"{}\"}",
         (200, b'{"payload":"{}"}', False)),
        (b"HTTP/1.1 201 Created\r\nCONTENT-LENGTH:  0\r\n\r\n", (201, b"", False)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", (200, b"{}", True)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
         (200, b"{}", False)),
        (b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 2\r\n\r\n{}", (429, b"{}", False)),
    ]
    seen: list[tuple[int, bytes, bool]] = []
    parser = ResponseParser(lambda *r: seen.append(r), keep_body=True)
    for raw, _ in answers:
        parser.feed(raw)
        assert parser.idle
    assert seen == [expected for _, expected in answers]
    # An answer cut in two, then one with the next answer's start attached.
    first, second = answers[0][0], answers[4][0]
    assert parse(first[:30], first[30:] + second[:5], second[5:]) == [answers[0][1], answers[4][1]]


def test_parser_ends_a_body_without_length_at_close_and_refuses_garbage() -> None:
    seen: list[tuple[int, bytes, bool]] = []
    parser = ResponseParser(lambda *r: seen.append(r), keep_body=True)
    parser.feed(b"HTTP/1.0 200 OK\r\n\r\npartial ")
    parser.feed(b"body")
    assert seen == [] and parser.connection_closed()
    assert seen == [(200, b"partial body", True)]
    with pytest.raises(ProtocolError):
        parse(b"SSH-2.0-OpenSSH\r\n\r\n")


# -- engines against the stand-in ----------------------------------------------------------------


def test_closed_loop_echo_counts_every_answer(standin: StandIn, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "echo", *short(standin.url), "--engine", "python")
    check_structure(report)
    assert report["engine"] == "python" and report["mode"] == "closed"
    assert report["requests"] > 0 and report["ok"] == report["requests"]
    assert report["errors"] == {"total": 0, "status": {}, "socket": {}}
    assert standin.state.seen["echo"] >= report["requests"]
    assert standin.state.bad_bodies == 0
    assert report["setup"]["users_signed_in"] == 20


def test_open_loop_sends_at_the_asked_rate(standin: StandIn, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "account", *short(standin.url, "--rate", "200"))
    check_structure(report)
    assert report["engine"] == "python" and report["mode"] == "open" and report["rate"] == 200
    # 2 s at 200/s: the generator keeps its schedule whatever the timing of the answers.
    assert 0.75 * 400 <= report["requests"] + report["unfinished"] <= 1.05 * 400
    assert report["errors"]["total"] == 0


def test_wrong_keys_are_counted_as_401(standin: StandIn, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "auth", *short(standin.url, "--server-key", "wrong", "--engine", "python"))
    assert report["requests"] > 0 and report["ok"] == 0
    assert report["errors"]["status"] == {"401": report["requests"]}
    report = bench(capsys, "echo", *short(standin.url, "--rpc-auth", "http-key", "--http-key", "wrong",
                                          "--engine", "python"))
    assert report["errors"]["status"] == {"401": report["requests"]} and report["requests"] > 0
    assert "failed" in " ".join(report["warnings"])


def test_open_loop_counts_a_stall_from_when_requests_were_due(standin: StandIn) -> None:
    """A 1 s stall in a 3 s open-loop window: every request due during it is late, so the
    p90 shows the stall. A closed loop only has its few in-flight requests see it."""
    target = Target.from_url(standin.url)
    traffic = TrafficSpec("rpc", target.host_header, rpc_auth="http-key")  # needs no session

    def run(rate: float) -> LoadResult:
        with RunningLoad(LoadPlan(target, traffic, [], 4, rate, 2, 0.5, 3.0)) as load:
            load.start()
            standin.stall(after_s=(load.measure_ns - time.monotonic_ns()) / 1e9 + 1.0, for_s=1.0)
            return load.collect()

    open_loop = run(200.0)
    assert open_loop.latency.p90 >= 400, open_loop.latency
    closed = run(0.0)
    assert closed.histogram is not None and closed.requests > 100
    slow = sum(n for i, n in enumerate(closed.histogram.counts) if i >= bucket_index(400_000))
    assert 1 <= slow <= 4, "only the requests in flight when the stall began waited through it"


def test_a_server_closing_after_every_answer_is_followed(capsys: pytest.CaptureFixture[str]) -> None:
    server = StandIn(StandInConfig(close_every_answer=True))
    server.start()
    try:
        report = bench(capsys, "echo", *short(server.url, "--engine", "python", "--rpc-auth", "http-key"))
    finally:
        server.stop()
    assert report["requests"] > 0 and report["ok"] == report["requests"]
    assert report["errors"]["total"] == 0  # a close announced by the answer is no error


def test_tokens_are_refreshed_during_a_long_run(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens living 4 s, a 6 s run: the workers refresh them off the timed path, so no 401."""
    from nakama_py.bench import worker

    monkeypatch.setattr(worker, "REFRESH_MARGIN_S", 3.0)  # passed to the spawned workers in their spec
    server = StandIn(StandInConfig(token_lifetime_s=4))
    server.start()
    try:
        report = bench(capsys, "account", "--url", server.url, "--duration", "6s", "--warmup", "0s",
                       "--connections", "4", "--processes", "1", "--users", "3", "--rate", "50")
    finally:
        server.stop()
    assert report["engine"] == "python"
    assert report["errors"]["total"] == 0, report["errors"]
    assert server.state.seen["/v2/account/session/refresh"] >= 3


def test_a_refresh_answered_500_is_tried_again(capsys: pytest.CaptureFixture[str]) -> None:
    """Setup refreshes tokens that would expire during the run; a 500 among those answers (Nakama's
    "Error finding user account." when its database read times out) is asked again, not fatal."""
    server = StandIn(StandInConfig(token_lifetime_s=20, refresh_failures=2))
    server.start()
    try:
        report = bench(capsys, "account", *short(server.url, "--engine", "python", "--users", "3"))
    finally:
        server.stop()
    assert server.state.refresh_failures_sent == 2
    assert server.state.seen["/v2/account/session/refresh"] >= 5  # 3 users, 2 of the answers refused
    assert report["errors"]["total"] == 0 and report["requests"] > 0


@needs_wrk
@pytest.mark.parametrize("scenario", ["auth", "account", "echo", "submit", "leaderboard", "mix"])
def test_wrk_engine_sends_each_scenario(standin: StandIn, capsys: pytest.CaptureFixture[str], scenario: str) -> None:
    extra = ("--records", "20") if scenario in ("leaderboard", "mix") else ()
    report = bench(capsys, scenario, *short(standin.url, "--engine", "wrk", *extra))
    check_structure(report)
    assert report["engine"] == "wrk" and report["requests"] > 0
    assert report["ok"] == report["requests"], report["errors"]
    assert standin.state.bad_bodies == 0
    if scenario in ("submit", "mix"):
        assert standin.state.seen["submit_race_time"] >= 1


@needs_wrk
def test_wrk_counts_errors_by_status(standin: StandIn, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "auth", *short(standin.url, "--server-key", "wrong", "--engine", "wrk"))
    assert report["errors"]["status"] == {"401": report["requests"]} and report["requests"] > 0


def test_auto_engine_falls_back_to_python_without_wrk(standin: StandIn, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scenarios, "find_wrk", lambda: None)
    report = bench(capsys, "echo", *short(standin.url))
    assert report["engine"] == "python" and report["notes"] == ["Python engine: wrk is not installed"]
    assert main(["echo", *short(standin.url, "--engine", "wrk"), "--quiet"]) == 1
    assert "wrk is not installed" in capsys.readouterr().err


def test_python_engine_sends_submissions_and_the_mix(standin: StandIn, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "mix", *short(standin.url, "--engine", "python", "--records", "30"))
    check_structure(report)
    assert report["cycle"]["records"] >= 30
    kinds = report["kinds"]
    assert set(kinds) == {"get_leaderboard", "submit_race_time"}
    reads, writes = kinds["get_leaderboard"]["requests"], kinds["submit_race_time"]["requests"]
    assert reads + writes == report["requests"] and reads > writes > 0
    assert standin.state.bad_bodies == 0 and report["errors"]["total"] == 0
    keys = [key for (_, key) in standin.state.replies]
    assert len(keys) == len(set(keys)), "every submission has its own idempotency key"


def test_burst_is_an_open_loop_of_submissions(standin: StandIn, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, "burst", "--url", standin.url, "--rate", "150", "--duration", "2s", "--users", "30",
                   "--connections", "8")
    check_structure(report)
    assert report["mode"] == "open" and report["warmup_s"] == 0 and report["rate"] == 150
    assert report["requests"] > 0 and report["errors"]["total"] == 0
    assert standin.state.seen["submit_race_time"] >= report["requests"]


@pytest.fixture
def short_cycles() -> Iterator[StandIn]:
    server = StandIn(StandInConfig(cycle_seconds=5, finalize_work_s=0.4))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def reset_args(url: str, *extra: str) -> list[str]:
    return ["reset-under-load", "--url", url, "--records", "40", "--users", "20", "--duration", "4s",
            "--warmup", "0.5s", "--connections", "8", "--processes", "2", *extra]


def test_reset_under_load_times_the_finalize_and_splits_the_load(short_cycles: StandIn,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, *reset_args(short_cycles.url))
    check_structure(report)
    finalize, cycle = report["finalize"], report["cycle"]
    assert finalize["status"] == 200 and finalize["finalized_by"] == "bench"
    assert finalize["already_finalized"] is False and finalize["cycle"] == cycle["cycle"]
    assert cycle["records"] >= 40 and short_cycles.state.finalize_calls == [cycle["cycle"]]
    assert finalize["duration_ms"] >= 400 and finalize["call_ms"] >= finalize["duration_ms"]
    start, end = finalize["window_s"]
    assert 0 < start < end and round(end - start, 6) >= 0.4  # the window is reported rounded
    phases = report["phases"]
    assert set(phases) == {"before", "during", "after"}
    assert all(phases[name]["requests"] > 0 for name in phases), phases
    assert sum(phases[name]["requests"] for name in phases) == report["requests"]
    # The stand-in serves reads in well under the 400 ms the finalize took, but a read in flight
    # at any moment of it counts as during: at least as many as one per connection.
    assert phases["during"]["requests"] >= 8


def test_reset_under_load_reports_a_wrong_http_key(short_cycles: StandIn, capsys: pytest.CaptureFixture[str]) -> None:
    report = bench(capsys, *reset_args(short_cycles.url, "--http-key", "wrong"))
    assert report["finalize"]["status"] == 401 and "HTTP key invalid" in report["finalize"]["error"]
    assert any("manual_reset_leaderboard failed" in note for note in report["notes"])
    assert short_cycles.state.finalize_calls == [] and report["requests"] > 0


def test_reset_under_load_takes_the_time_of_a_finalize_the_server_did_itself(
        capsys: pytest.CaptureFixture[str]) -> None:
    server = StandIn(StandInConfig(cycle_seconds=5, finalize_work_s=0.4, auto_finalize=True))
    server.start()
    try:
        report = bench(capsys, *reset_args(server.url))
    finally:
        server.stop()
    finalize = report["finalize"]
    assert finalize["status"] == 200 and finalize["already_finalized"] is True
    assert finalize["finalized_by"] == "server" and finalize["duration_ms"] >= 400
    assert round(finalize["window_s"][1] - finalize["window_s"][0], 6) >= 0.4  # the window is reported rounded
