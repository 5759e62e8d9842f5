"""``nakama-py bench --node-metrics``: per-node figures from each node's own Prometheus counters,
for a run through a load balancer. Here two nodes of one database and the load sent to the first:
the report must put every request on the first and none on the second."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from nakama_py.bench.cli import main
from nakama_py.bench.nodes import figures, parse
from tests.support.database import create_database, drop_database, migrate
from tests.support.ports import free_port
from tests.support.server import REPO, ServerProcess, start_server

Nodes = list[tuple[ServerProcess, str]]  # each node and its metrics URL


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    database = create_database("nakama_py_bench_nodes")
    migrate(database)
    started: Nodes = []
    try:
        for name in ("bnode1", "bnode2"):
            port = free_port()
            server = start_server(tmp_path_factory.mktemp(name), database, "--name", name,
                                  "--metrics.prometheus_port", str(port), "--logger.level", "warn",
                                  "--runtime.path", str(REPO / "runtime_modules"))
            started.append((server, f"http://127.0.0.1:{port}/metrics"))
        yield started
    finally:
        for server, _ in started:
            server.stop()
        drop_database(database)


def run(capsys: pytest.CaptureFixture[str], nodes: Nodes, *extra: str) -> dict[str, Any]:
    argv = ["echo", "--url", nodes[0][0].url, "--duration", "2s", "--warmup", "0.5s", "--connections", "4",
            "--processes", "1", "--users", "5", "--engine", "python", "--json", "--quiet", *extra]
    for _, url in nodes:
        argv += ["--node-metrics", url]
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    report = orjson.loads(out.out.strip().splitlines()[-1])
    assert isinstance(report, dict)
    return report


def test_each_node_reports_what_it_served(nodes: Nodes, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(capsys, nodes)
    first, second = report["nodes"]
    assert first["node"] == nodes[0][1] and second["node"] == nodes[1][1]
    assert first["share"] == 1.0 and second["share"] == 0.0 and second["requests"] == 0
    # The node's count over the scrape window is the client's count over its window, give or take the
    # few requests at either edge.
    requests = report["requests"]
    assert isinstance(requests, int) and requests > 0
    assert abs(first["requests"] - requests) <= max(20, requests // 5)
    assert first["errors"] == 0
    assert 0 < first["latency_ms"]["mean"] <= first["latency_ms"]["p99_at_most"]


def test_a_nodes_errors_are_its_own(nodes: Nodes, capsys: pytest.CaptureFixture[str]) -> None:
    report = run(capsys, nodes, "--rpc-auth", "http-key", "--http-key", "not-the-key")
    first, _ = report["nodes"]
    assert first["requests"] > 0 and first["errors"] == first["requests"]


def test_a_node_that_does_not_answer_is_named(nodes: Nodes, capsys: pytest.CaptureFixture[str]) -> None:
    silent = f"http://127.0.0.1:{free_port()}/metrics"
    report = run(capsys, [nodes[0], (nodes[1][0], silent)])
    assert report["nodes"][1] == {"node": silent, "error": "no answer from its metrics endpoint"}


def test_own_reads_are_counted_per_proof_over_the_window() -> None:
    """How a node proved its players' standings fresh (core/node_sync.py), as the difference of its
    counter between the window's two scrapes, per proof."""
    def text(at_once: int, bus: int) -> str:
        return ("# HELP nakama_cluster_own_reads_total reads\n# TYPE nakama_cluster_own_reads_total counter\n"
                f'nakama_cluster_own_reads_total{{proof="at_once"}} {at_once}\n'
                f'nakama_cluster_own_reads_total{{proof="bus"}} {bus}\n')

    start, end = parse(text(100, 7)), parse(text(190, 17))
    assert figures("node", start, end, 0)["own_reads"] == {"at_once": 90, "bus": 10}
