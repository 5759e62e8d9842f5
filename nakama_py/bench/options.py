"""Command-line options of ``nakama-py bench`` and the scenarios they can name."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    name: str
    shape: str  # the traffic, see traffic.SHAPES
    prefill: bool  # needs a leaderboard cycle filled with --records records before timing
    summary: str


SCENARIOS = {s.name: s for s in (
    Scenario("auth", "auth", False, "new accounts: authenticate/custom?create=true with unused ids"),
    Scenario("account", "account", False, "GET /v2/account with session tokens"),
    Scenario("echo", "rpc", False, "an RPC (--rpc, default echo) with session tokens or --rpc-auth http-key"),
    Scenario("submit", "submit", False, "submit_race_time from signed-in users, fresh idempotency keys"),
    Scenario("leaderboard", "leaderboard", True, "get_leaderboard top --limit of a cycle pre-filled with --records"),
    Scenario("leaderboard-rest", "leaderboard-rest", True,
             "GET /v2/leaderboard/race_times?limit=--limit (Nakama's list route: a database page) of a cycle "
             "pre-filled with --records"),
    Scenario("standings", "standings", True,
             "GET /racing/standings?limit=--limit (the public, cacheable view; point --url at a caching proxy) of a "
             "cycle pre-filled with --records"),
    Scenario("mix", "mix", True, "70% get_leaderboard, 30% submit_race_time (the steady state)"),
    Scenario("burst", "submit", False, "cycle-end rush: submissions at a high constant --rate (open loop)"),
    Scenario("reset-under-load", "mix", True,
             "mix running while the filled cycle ends and is finalized with manual_reset_leaderboard"),
    Scenario("socket-idle", "socket", False, "hold --users idle /ws sockets (--server-pid: server memory per socket)"),
    Scenario("socket-fanout", "socket", False,
             "--members sockets in one chat room (over --url and --extra-url nodes), --rate messages/s in all: "
             "deliveries/s and delivery latency"),
    Scenario("socket-rpc", "socket", False, "--connections sockets calling --rpc (echo) over /ws in a closed loop"),
    Scenario("socket-matchmaker", "socket", False,
             "2 x --groups sockets (over --url and --extra-url nodes) add 2-player tickets: time from the first "
             "ticket to every matchmaker_matched (run the server with a short matchmaker.interval_sec)"),
    Scenario("socket-matches", "socket", False,
             "--matches authoritative matches (runtime_modules/bench_matches.py) of --players sockets each, inputs "
             "and broadcasts at --tick-rate: tick lateness p99, --server-pid: server CPU per match"),
)}

DEFAULT_RECORDS = {"leaderboard": 10_000, "leaderboard-rest": 10_000, "standings": 10_000, "mix": 10_000,
                   "reset-under-load": 100_000}
BURST_DEFAULTS = {"rate": 2000.0, "duration": 10.0, "warmup": 0.0, "users": 5000}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """``20s``, ``500ms``, ``2m``, ``1.5`` (seconds) → seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use 20s, 500ms, 2m)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _records(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--records: a number or numbers separated by commas: {text}") from None
    return sorted(set(sizes))


def _rate(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--rate must be positive: {text}")
    return value


@dataclass(frozen=True)
class Options:
    scenario: Scenario
    url: str
    server_key: str
    http_key: str
    duration_s: float
    warmup_s: float
    connections: int
    rate: float | None  # None: closed loop
    users: int
    records: int
    limit: int
    rpc: str
    payload: str
    rpc_auth: str
    engine: str
    processes: int
    timeout_s: float
    user_prefix: str
    label: str
    json: bool
    quiet: bool
    report: str = ""  # an HTML file to write the run's charts to
    metrics_url: str = ""  # the server's Prometheus endpoint: GC pauses and loop stalls over the run
    sweep: list[int] = field(default_factory=list)  # --records A,B,...: one run per size, smallest first
    urls: list[str] = field(default_factory=list)  # --url then every --extra-url (socket scenarios)
    members: int = 100
    server_pid: int = 0
    groups: int = 1000
    matches: int = 50
    players: int = 8
    tick_rate: int = 10
    sample_every_s: float = 0.0  # soak: sample the server's holdings this often (0: never)
    node_metrics: list[str] = field(default_factory=list)  # each node's /metrics URL: per-node figures
    mid_rpc: str = ""  # an RPC called once (http key) in the middle of the measured window

    @property
    def open_loop(self) -> bool:
        return self.rate is not None

    @property
    def rate_per_s(self) -> float:
        """socket-fanout's message rate: --rate, or 20 messages/s."""
        return self.rate or 20.0


def build_parser() -> argparse.ArgumentParser:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(
        prog="nakama-py bench",
        description="Load-test a server that speaks Nakama's HTTP API (nakama-py or Nakama itself).",
        epilog="scenarios:\n" + "\n".join(f"  {s.name:18} {s.summary}" for s in SCENARIOS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=list(SCENARIOS), metavar="SCENARIO", help="what to send (see below)")
    parser.add_argument("--url", default="http://127.0.0.1:7350", help="the server (default %(default)s)")
    parser.add_argument("--server-key", default="defaultkey", help="socket.server_key (default %(default)s)")
    parser.add_argument("--http-key", default="defaulthttpkey", help="runtime.http_key (default %(default)s)")
    parser.add_argument("--duration", type=parse_duration, default=None, help="measured time (default 20s)")
    parser.add_argument("--warmup", type=parse_duration, default=None, help="unmeasured time first (default 5s)")
    parser.add_argument("--connections", type=_positive_int, default=64, help="keep-alive connections (default 64)")
    parser.add_argument("--rate", type=_rate, default=None,
                        help="open loop: requests per second, latency counted from each request's due time")
    parser.add_argument("--users", type=_positive_int, default=None, help="signed-in users sending (default 1000)")
    parser.add_argument("--records", type=_records, default=None,
                        help="records to pre-fill the cycle with (leaderboard, mix: 10000; reset-under-load: 100000);"
                             " a comma-separated list (10000,100000) runs the scenario once per size, the cycle"
                             " topped up between runs")
    parser.add_argument("--limit", type=_positive_int, default=100, help="get_leaderboard limit (default 100)")
    parser.add_argument("--rpc", default="echo", help="echo scenario: the RPC id (default echo)")
    parser.add_argument("--payload", default='{"hello":"world"}', help="echo scenario: the RPC payload (JSON)")
    parser.add_argument("--rpc-auth", choices=("session", "http-key"), default="session",
                        help="echo scenario: call with session tokens or the http key (default session)")
    parser.add_argument("--engine", choices=("auto", "python", "wrk"), default="auto",
                        help="auto: wrk for closed loops when installed, else the Python engine")
    parser.add_argument("--processes", type=_positive_int, default=max(1, min(cores, 4)),
                        help="load-generator processes (Python engine) or threads (wrk) (default %(default)s)")
    parser.add_argument("--timeout", type=parse_duration, default=10.0, help="per-request timeout (default 10s)")
    parser.add_argument("--user-prefix", default="nakama-py-bench",
                        help="custom ids of the bench users are PREFIX-0, PREFIX-1, ... (reused between runs)")
    parser.add_argument("--extra-url", action="append", default=[],
                        help="socket scenarios: more servers (nodes) to spread the sockets over (repeatable)")
    parser.add_argument("--members", type=_positive_int, default=100, help="socket-fanout: room members (default 100)")
    parser.add_argument("--groups", type=_positive_int, default=1000,
                        help="socket-matchmaker: 2-player groups to form (default 1000)")
    parser.add_argument("--matches", type=_positive_int, default=50,
                        help="socket-matches: authoritative matches (default 50)")
    parser.add_argument("--players", type=_positive_int, default=8,
                        help="socket-matches: players per match (default 8)")
    parser.add_argument("--tick-rate", type=_positive_int, default=10,
                        help="socket-matches: the matches' tick rate, and each player's inputs per second (default 10)")
    parser.add_argument("--server-pid", type=_positive_int, default=0,
                        help="the server process on this machine whose memory or CPU time to read (socket-idle, "
                             "socket-matches, --sample-every; HTTP scenarios find it by --url's port when local)")
    parser.add_argument("--sample-every", type=parse_duration, default=0.0,
                        help="soak: sample the server every DURATION during the run: memory and open files of "
                             "--server-pid and its workers (/proc), asyncio tasks and database connections "
                             "from --metrics-url")
    parser.add_argument("--node-metrics", action="append", default=[], metavar="URL",
                        help="a node's Prometheus URL (http://host:9100/metrics), once per node behind --url: "
                             "the report adds each node's requests, share, errors and latency")
    parser.add_argument("--mid-rpc", default="", metavar="ID",
                        help="call this RPC once with the http key in the middle of the measured window and "
                             "report its answer and duration (e.g. run_retention while the mix runs)")
    parser.add_argument("--label", default="", help="free text kept in the report (e.g. the server's config)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON line on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--metrics-url", default="",
                        help="the server's Prometheus endpoint (e.g. http://127.0.0.1:9100/): report its GC pauses,"
                             " event-loop stalls and server-side latency over the measured window; with"
                             " --sample-every, the asyncio tasks and database connections it samples")
    parser.add_argument("--report", metavar="FILE.html", default="",
                        help="also write a self-contained HTML page: throughput and latency over time, percentiles "
                             "(runs the Python engine, which times each request)")
    return parser


def parse_options(argv: list[str]) -> Options:
    parser = build_parser()
    args = parser.parse_args(argv)
    scenario = SCENARIOS[args.scenario]
    burst = scenario.name == "burst"
    rate = args.rate if args.rate is not None else (BURST_DEFAULTS["rate"] if burst else None)
    duration = args.duration if args.duration is not None else (BURST_DEFAULTS["duration"] if burst else 20.0)
    warmup = args.warmup if args.warmup is not None else (BURST_DEFAULTS["warmup"] if burst else 5.0)
    users = args.users if args.users is not None else int(BURST_DEFAULTS["users"] if burst else 1000)
    sweep: list[int] = args.records or []
    records = sweep[0] if sweep else DEFAULT_RECORDS.get(scenario.name, 0)
    if len(sweep) > 1 and (not scenario.prefill or scenario.shape == "socket" or scenario.name == "reset-under-load"):
        parser.error(f"--records with several sizes: only for the scenarios that read a pre-filled cycle,"
                     f" not {scenario.name}")
    if duration <= 0:
        parser.error("--duration must be positive")
    if records < 0:
        parser.error("--records cannot be negative")
    if scenario.prefill and records < 1:
        parser.error(f"{scenario.name} needs --records of at least 1")
    # Custom ids are "<prefix>-<n>", and Nakama wants 6 to 128 bytes: 4 characters make "abcd-0" long enough.
    if not re.fullmatch(r"[A-Za-z0-9._-]{4,64}", args.user_prefix):
        parser.error("--user-prefix: 4 to 64 letters, digits, '.', '_' and '-' (custom ids must be 6 bytes or more)")
    return Options(
        scenario=scenario, url=args.url, server_key=args.server_key, http_key=args.http_key,
        duration_s=duration, warmup_s=warmup, connections=args.connections, rate=rate, users=users,
        metrics_url=args.metrics_url, sweep=sweep if len(sweep) > 1 else [],
        records=records, limit=args.limit, rpc=args.rpc, payload=args.payload, rpc_auth=args.rpc_auth,
        engine=args.engine, processes=args.processes, timeout_s=args.timeout, user_prefix=args.user_prefix,
        label=args.label, json=args.json, quiet=args.quiet, report=args.report, urls=[args.url, *args.extra_url],
        members=args.members, server_pid=args.server_pid, groups=args.groups, matches=args.matches,
        players=args.players, tick_rate=args.tick_rate, sample_every_s=args.sample_every,
        node_metrics=args.node_metrics, mid_rpc=args.mid_rpc)
