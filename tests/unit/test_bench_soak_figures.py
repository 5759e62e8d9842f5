"""The bench's overload and soak figures: shed counts and accepted latency from an open loop's
samples, and the server gauges read from a /metrics text."""

from __future__ import annotations

from nakama_py.bench.admission import shedding
from nakama_py.bench.histogram import Histogram
from nakama_py.bench.server_sampler import parse_gauges


def test_shed_requests_are_counted_apart_from_the_accepted_ones_latency() -> None:
    # (start ns, latency µs, kind, status): 3 accepted at 1, 2 and 40 ms, 2 shed, 1 other failure.
    samples = [(0, 1000, 0, 200), (1, 2000, 0, 200), (2, 40000, 1, 200), (3, 500, 0, 503), (4, 300, 1, 429),
               (5, 9000, 0, 500)]
    figures = shedding(samples)
    assert figures["accepted"] == 3 and figures["shed"] == 2
    assert figures["shed_by_status"] == {"429": 1, "503": 1}
    assert figures["shed_share"] == round(2 / 6, 4)
    assert 39 <= figures["accepted_latency_ms"]["p99"] <= 41  # the shed ones' quick answers do not hide it


def test_the_accepted_latency_on_the_wire_is_reported_apart_from_the_generators_queue() -> None:
    # Due at 0 but written 39 ms later (every connection was busy): 40 ms from due, 1 ms on the wire.
    on_wire = Histogram()
    on_wire.record(1000)
    figures = shedding([(0, 40000, 0, 200)], on_wire, max_pending=12)
    assert 39 <= figures["accepted_latency_ms"]["p99"] <= 41
    assert 0.9 <= figures["accepted_on_wire_ms"]["p99"] <= 1.1
    assert figures["max_pending"] == 12


def test_the_soak_gauges_are_found_whatever_the_metrics_prefix() -> None:
    text = "# HELP game_asyncio_tasks tasks\ngame_asyncio_tasks 152.0\ngame_db_pool_connections 6.0\n"
    assert parse_gauges(text) == {"asyncio_tasks": 152.0, "db_connections": 6.0}
