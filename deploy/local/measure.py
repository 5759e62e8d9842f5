#!/usr/bin/env python3
"""Measure a local cluster (deploy/local/cluster.py) with ``nakama-py bench``: the figures behind
docs/scaling.md's capacity model.

    .venv/bin/python deploy/local/measure.py --dir /tmp/npm [--duration 10] [--warmup 3] [--connections 32] [--rate R]
        [-- more serve flags]

For each topology (one node with N workers; N nodes with one worker each, or N/W with --node-workers W,
behind nginx: the same
number of server processes; the same with a streaming replica for reads) it brings a cluster up,
runs the scenarios through the balancer, and reads around each run's measured window:

- the CPU seconds the nodes' processes (every worker) and the primary's (and replica's) processes used,
- the WAL bytes the primary wrote, and the resident memory of the nodes,

then prints one JSON line per run and a Markdown table of per-request costs. Everything it starts is
stopped by PID (cluster.py down) before the next topology comes up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster as local  # deploy/local/cluster.py, a sibling script

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
SERVE_ARGS = ["--runtime.path", "runtime_modules", "--runtime.env", "racing_submit_rate_per_minute=1000000",
              "--session.token_expiry_sec", "7200", "--logger.level", "warn"]


@dataclass(frozen=True)
class Topology:
    name: str
    nodes: int
    workers: int
    replica: bool
    scenarios: tuple[str, ...]


def proc_stat(pid: int) -> tuple[int, int, float] | None:
    """(process group, parent, CPU seconds) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[2]), int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def group_cpu(leaders: list[int]) -> float:
    """CPU seconds of every live process in these process groups (a node and its workers)."""
    groups = set(leaders)
    total = 0.0
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat is not None and stat[0] in groups:
            total += stat[2]
    return total


def group_rss(leaders: list[int]) -> int:
    groups, total = set(leaders), 0
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat is not None and stat[0] in groups:
            with contextlib.suppress(OSError):  # it may have exited
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    return total


def postgres_cpu(data: Path) -> float:
    """CPU seconds of a PostgreSQL server: the postmaster and its children."""
    try:
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return 0.0
    total = 0.0
    for pid in all_pids():
        stat = proc_stat(pid)
        if stat is not None and (pid == postmaster or stat[1] == postmaster):
            total += stat[2]
    return total


def psql(cluster: local.Cluster, statement: str) -> str:
    out = subprocess.run([str(Path(cluster.pg_bindir) / "psql"), "-h", "127.0.0.1", "-p", str(cluster.primary_port),
                          "-U", "postgres", "-d", "nakama", "-v", "ON_ERROR_STOP=1", "-Atc", statement],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def wal_lsn(cluster: local.Cluster) -> int:
    return int(psql(cluster, "SELECT pg_current_wal_lsn() - '0/0'"))


def seed_expired_cycle(cluster: local.Cluster, records: int, shared: bool) -> None:
    """An expired racing cycle of ``records`` records, 40 days old (past the default 7-day retention),
    alone in its day's partition, or (``shared``) with one record of another board in it, which
    leaves retention the row-by-row delete."""
    day = "current_date - 40"
    psql(cluster, f"SELECT nakama_py_record_partition({day})")
    psql(cluster, "INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, expiry_time)"
                  f" SELECT 'race_times', gen_random_uuid(), n, ({day})::timestamptz + interval '1 hour'"
                  f" FROM generate_series(1, {records}) n")
    if shared:
        psql(cluster, "INSERT INTO leaderboard (id) VALUES ('measure_other') ON CONFLICT DO NOTHING")
        psql(cluster, "INSERT INTO leaderboard_record (leaderboard_id, owner_id, score, expiry_time)"
                      f" VALUES ('measure_other', gen_random_uuid(), 1, ({day})::timestamptz + interval '2 hours')")
    psql(cluster, "ANALYZE leaderboard_record")


def cycle_drop(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The mix on 3 nodes: without a drop; with racing's run_retention dropping an expired cycle of
    ``--drop-records`` records (its own partition) in the middle of the window; and with the same
    cycle sharing its day with another board (the row-by-row delete, what retention did before)."""
    directory = Path(args.dir) / "cycle-drop"
    # Racing's own retention job is off (an external scheduler's setting): only the mid-run call drops.
    serve_args = [*SERVE_ARGS, "--runtime.env", "racing_retention_interval_seconds=0", *args.serve]
    options = argparse.Namespace(dir=str(directory), nodes=args.processes, workers=1, replica=False,
                                 nats=args.nats, serve_args=serve_args)
    cluster = local.up(options)
    results = []
    try:
        for name, shared, drop in (("no drop", False, False), ("partition drop", False, True),
                                   ("row delete", True, True)):
            seed_expired_cycle(cluster, args.drop_records, shared)
            report = bench(cluster, "mix", args, ["--mid-rpc", "run_retention"] if drop else [])
            report["topology"] = f"cycle-drop: {name}"
            report["expired_left"] = int(psql(cluster, "SELECT count(*) FROM leaderboard_record"
                                                       " WHERE expiry_time < current_date - 30"))
            print(json.dumps(report), flush=True)
            results.append(report)
            if not drop:  # leave no cycle behind for the next step
                psql(cluster, "DELETE FROM leaderboard_record WHERE expiry_time < current_date - 30")
    finally:
        local.down_cluster(cluster)
    return results


def sample(cluster: local.Cluster) -> dict[str, float]:
    return {"node_cpu_s": group_cpu(cluster.node_pids), "primary_cpu_s": postgres_cpu(cluster.path / "primary"),
            "replica_cpu_s": postgres_cpu(cluster.path / "replica"), "wal_bytes": float(wal_lsn(cluster)),
            "at": time.monotonic()}


def bench(cluster: local.Cluster, scenario: str, args: argparse.Namespace,
          extra: list[str] | None = None) -> dict[str, Any]:
    """One bench run through the balancer, with the servers' costs over its measured window."""
    command = [sys.executable, "-m", "nakama_py", "bench", scenario, "--url", cluster.balancer_url,
               "--duration", f"{args.duration}s", "--warmup", f"{args.warmup}s", "--connections",
               str(args.connections), "--users", str(args.users), "--json", "--label", cluster.dir, *(extra or [])]
    if args.rate:
        command += ["--rate", str(args.rate)]  # an open loop: every topology does the same work
    for index in range(len(cluster.metrics_ports)):  # per-node figures from each node's own counters
        command += ["--node-metrics", cluster.metrics_url(index)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[dict[str, float]] = []

    def watch() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("bench: running"):
                time.sleep(args.warmup)
                samples.append(sample(cluster))
        process.stderr.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert process.stdout is not None
    out = process.stdout.read()
    process.wait(600)
    watcher.join(10)
    end = sample(cluster)
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    if samples:
        start = samples[0]
        requests = max(report["requests"], 1)
        report["server"] = {
            "node_cpu_ms_per_request": round(1000 * (end["node_cpu_s"] - start["node_cpu_s"]) / requests, 3),
            "primary_cpu_ms_per_request": round(1000 * (end["primary_cpu_s"] - start["primary_cpu_s"]) / requests, 3),
            "replica_cpu_ms_per_request": round(1000 * (end["replica_cpu_s"] - start["replica_cpu_s"]) / requests, 3),
            "wal_bytes_per_request": round((end["wal_bytes"] - start["wal_bytes"]) / requests, 1),
            "window_s": round(end["at"] - start["at"], 2),
            "node_rss_mb": round(group_rss(cluster.node_pids) / 2**20, 1),
        }
    return report


def run_topology(topology: Topology, args: argparse.Namespace) -> list[dict[str, Any]]:
    directory = Path(args.dir) / topology.name
    options = argparse.Namespace(dir=str(directory), nodes=topology.nodes, workers=topology.workers,
                                 replica=topology.replica, nats=args.nats, serve_args=[*SERVE_ARGS, *args.serve])
    cluster = local.up(options)
    results = []
    try:
        for scenario in topology.scenarios:
            report = bench(cluster, scenario, args)
            report["topology"] = topology.name
            print(json.dumps(report), flush=True)
            results.append(report)
    finally:
        local.down_cluster(cluster)
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| topology | scenario | req/s | p99 ms | errors | node CPU ms/req | primary CPU ms/req | "
             "replica CPU ms/req | WAL B/req | nodes RSS MB | node shares | node mean ms | own reads at once % |",
             "|---" * 13 + "|"]
    for r in results:
        s = r.get("server", {})
        lines.append(f"| {r['topology']} | {r['scenario']} | {r['requests_per_s']:,.0f} | {r['latency_ms']['p99']} | "
                     f"{r['errors'].get('total', 0)} | {s.get('node_cpu_ms_per_request')} | "
                     f"{s.get('primary_cpu_ms_per_request')} | {s.get('replica_cpu_ms_per_request')} | "
                     f"{s.get('wal_bytes_per_request')} | {s.get('node_rss_mb')} | "
                     f"{' / '.join(str(n.get('share', '-')) for n in r.get('nodes', []))} | "
                     f"{' / '.join(str(n.get('latency_ms', {}).get('mean', '-')) for n in r.get('nodes', []))} | "
                     f"{' / '.join(at_once_share(n) for n in r.get('nodes', []))} |")
    return "\n".join(lines)


def at_once_share(node: dict[str, Any]) -> str:
    """The share of a node's own-standing reads proven from acks already held (no wait, no primary)."""
    reads = node.get("own_reads") or {}
    total = sum(reads.values())
    return f"{100 * reads.get('at_once', 0) / total:.0f}" if total else "-"


def drop_table(results: list[dict[str, Any]]) -> str:
    lines = ["| run | mix req/s | mix p99 ms | errors | run_retention ms (server) | records deleted | cycle left |",
             "|---" * 7 + "|"]
    for r in results:
        call: dict[str, Any] = r.get("mid_rpc") or {}
        reply: dict[str, Any] = call["reply"] if isinstance(call.get("reply"), dict) else {}
        lines.append(f"| {r['topology']} | {r['requests_per_s']:,.0f} | {r['latency_ms']['p99']} | "
                     f"{r['errors'].get('total', 0)} | {reply.get('duration_ms', '-')} | "
                     f"{reply.get('records_deleted', '-')} | {r.get('expired_left')} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True, help="a directory under /tmp for the clusters' data and logs")
    parser.add_argument("--processes", type=int, default=3, help="server processes in each topology")
    parser.add_argument("--node-workers", type=int, default=1,
                        help="worker processes of each node in the multi-node topologies (--processes / this many "
                             "nodes; e.g. --processes 4 --node-workers 2: 2-nodes-x2)")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="requests/s for an open loop (the same load on every topology: CPU per request at "
                             "equal work); default a closed loop")
    parser.add_argument("--only", default="", help="comma-separated topology names to run")
    parser.add_argument("--nats", action="store_true", help="the NATS bus (default: PostgreSQL's)")
    parser.add_argument("--cycle-drop", action="store_true",
                        help="instead: the mix with and without an expired cycle's drop (--drop-records) mid-run")
    parser.add_argument("--drop-records", type=int, default=100_000)
    parser.add_argument("serve", nargs="*", help="after --: more flags for every node's serve command "
                                                 "(e.g. -- --cluster.write_hold_ms 0)")
    args = parser.parse_args()
    if args.cycle_drop:
        drops = cycle_drop(args)
        print(table(drops))
        print(drop_table(drops))
        return 0
    n, per_node = args.processes, args.node_workers
    if per_node < 1 or n % per_node:
        parser.error("--node-workers must divide --processes")
    nodes = n // per_node
    name = f"{nodes}-nodes" if per_node == 1 else f"{nodes}-nodes-x{per_node}"
    topologies = [
        Topology("one-node", 1, n, False, ("submit", "mix", "leaderboard-rest")),
        Topology(name, nodes, per_node, False, ("submit", "mix", "leaderboard-rest")),
        Topology(f"{name}-replica", nodes, per_node, True, ("leaderboard-rest", "mix")),
    ]
    wanted = {t for t in args.only.split(",") if t}
    results: list[dict[str, Any]] = []
    for topology in topologies:
        if not wanted or topology.name in wanted:
            results += run_topology(topology, args)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
