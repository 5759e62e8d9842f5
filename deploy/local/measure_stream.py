#!/usr/bin/env python3
"""Direct vs streamed racing submissions, side by side in one run (the design document's Tier 4).

    .venv/bin/python deploy/local/measure_stream.py --dir /tmp/nps [--nodes 2] [--duration 10] [--warmup 3]

For each mode (``racing_submit_mode=direct``, then ``stream``) it brings up a local cluster
(deploy/local/cluster.py with its private NATS JetStream and PostgreSQL, nginx in front), runs the bench's
``submit`` and ``mix`` scenarios through the balancer, and meanwhile probes the lag from accept to
visible: a probe player submits a new best time every ``--probe-every`` seconds and reads its own
standing (``get_leaderboard``'s ``me``, fresh on whichever node answers) until it shows the new time.
It prints one JSON line per run and a Markdown table: throughput, the submission reply's p50/p99, the
lag's p50/p99/max, and once the load stopped how long a new submission took to show (the backlog left).
Everything it starts is stopped by PID before the next mode comes up.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster as local  # deploy/local/cluster.py, a sibling script
import measure  # deploy/local/measure.py: one bench run with the servers' costs

MODES = ("direct", "stream")
SCENARIOS = ("submit", "mix")


def _call(url: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def rpc(url: str, token: str, rpc_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    reply = _call(url, f"/v2/rpc/{rpc_id}", json.dumps(payload), {"Authorization": f"Bearer {token}"})
    return json.loads(reply["payload"])  # type: ignore[no-any-return]


class LagProbe(threading.Thread):
    """Submits a new best time now and then and measures how long until the player's standing shows it."""

    def __init__(self, url: str, every: float) -> None:
        super().__init__(daemon=True)
        self.url, self.every = url, every
        basic = base64.b64encode(b"defaultkey:").decode()
        session = _call(url, "/v2/account/authenticate/custom?create=true",
                        {"id": f"lag-probe-{secrets.token_hex(4)}"}, {"Authorization": f"Basic {basic}"})
        self.token = session["token"]
        self.lags: list[float] = []
        self.failures: list[str] = []
        self.seconds = 29.0  # below every bench time (30 s and up): each probe is a new personal best
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                self.lags.append(self.probe())
            except (OSError, ValueError) as exc:  # a refused or failed call: this probe is lost, say so
                self.failures.append(str(exc))

    def probe(self) -> float:
        """One new personal best, and the seconds until the player's standing shows it."""
        self.seconds = seconds = round(self.seconds - 0.001, 3)
        wanted = round(seconds * 1000)
        rpc(self.url, self.token, "submit_race_time", {"race_time": seconds, "idempotency_key": secrets.token_hex(8)})
        accepted = time.monotonic()
        while time.monotonic() - accepted < 30:
            me = rpc(self.url, self.token, "get_leaderboard", {"limit": 1}).get("me") or {}
            if me.get("race_time_ms") == wanted:
                return time.monotonic() - accepted
            time.sleep(0.005)
        raise ValueError(f"{seconds} s not visible within 30 s")

    def summary(self) -> dict[str, Any]:
        lags = sorted(self.lags)
        if not lags:
            return {"probes": 0, "failures": self.failures}
        return {"probes": len(lags), "p50_ms": round(1000 * statistics.median(lags), 1),
                "p99_ms": round(1000 * lags[min(len(lags) - 1, int(0.99 * len(lags)))], 1),
                "max_ms": round(1000 * lags[-1], 1), "failures": self.failures}


def run_mode(mode: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    serve_args = [*measure.SERVE_ARGS, "--runtime.env", f"racing_submit_mode={mode}"]
    options = argparse.Namespace(dir=str(Path(args.dir) / mode), nodes=args.nodes, workers=1, replica=False,
                                 nats=True, serve_args=serve_args)
    cluster = local.up(options)
    results: list[dict[str, Any]] = []
    try:
        for scenario in SCENARIOS:
            probe = LagProbe(cluster.balancer_url, args.probe_every)
            probe.start()
            report = measure.bench(cluster, scenario, args)
            probe.stopping.set()
            probe.join(40)
            report["mode"] = mode
            report["accept_to_visible"] = probe.summary()
            # Once the load stops: how long until a new submission shows (the backlog drained), so the next
            # scenario starts from an applied log.
            report["caught_up_after_s"] = round(probe.probe(), 2)
            print(json.dumps(report), flush=True)
            results.append(report)
    finally:
        local.down_cluster(cluster)
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| mode | scenario | req/s | submit p50 ms | submit p99 ms | errors | accept→visible p50 / p99 / max ms "
             "| caught up after the run |", "|---" * 8 + "|"]
    for r in results:
        submit = r.get("kinds", {}).get("submit_race_time", r)
        lag = r["accept_to_visible"]
        lines.append(f"| {r['mode']} | {r['scenario']} | {r['requests_per_s']:,.0f} | {submit['latency_ms']['p50']} | "
                     f"{submit['latency_ms']['p99']} | {r['errors'].get('total', 0)} | "
                     f"{lag.get('p50_ms')} / {lag.get('p99_ms')} / {lag.get('max_ms')} ({lag['probes']} probes) | "
                     f"{r['caught_up_after_s']} s |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True, help="a directory under /tmp for the clusters' data and logs")
    parser.add_argument("--nodes", type=int, default=2, help="nakama-py nodes behind nginx")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--probe-every", type=float, default=0.5, help="seconds between two lag probes")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for mode in MODES:
        results += run_mode(mode, args)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
