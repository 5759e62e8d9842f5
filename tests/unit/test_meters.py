"""Route and RPC meters count in plain numbers and hand them to prometheus-client in batches: what a
scrape shows is exactly what one ``observe``/``inc`` per request would have shown, values on a bucket's
bound included, and it shows within ``FLUSH_DELAY_SEC`` without anyone asking."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from nakama_py.metrics import FLUSH_DELAY_SEC, LATENCY_BUCKETS, Metrics

# On bounds, between them, below the first and past the last.
DURATIONS = [0.0001, 0.0005, 0.0007, 0.001, 0.01, 0.0100001, 0.3, 2.5, 9.9, 10.0, 42.0, 0.0]


def samples(registry: CollectorRegistry, *prefixes: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in registry.collect() for sample in family.samples
            if sample.name.startswith(prefixes) and not sample.name.endswith("_created")}


async def test_a_flushed_meter_shows_what_one_update_per_request_would() -> None:
    # On the event loop: every update below waits for one flush.
    metrics = Metrics()
    meter = metrics.rpc("echo")
    for index, seconds in enumerate(DURATIONS):
        meter.started()
        meter.finished(5 if index % 4 == 0 else 0, seconds)
    meter.started()  # one still running
    metrics.flush()

    expected = CollectorRegistry()
    requests = Counter("nakama_rpc_requests", "", ["id", "code"], registry=expected)
    latency = Histogram("nakama_rpc_duration_seconds", "", ["id"], buckets=LATENCY_BUCKETS, registry=expected)
    in_flight = Gauge("nakama_rpc_in_flight", "", ["id"], registry=expected)
    for index, seconds in enumerate(DURATIONS):
        requests.labels("echo", "5" if index % 4 == 0 else "0").inc()
        latency.labels("echo").observe(seconds)
    in_flight.labels("echo").inc()

    prefixes = ("nakama_rpc_requests", "nakama_rpc_duration_seconds", "nakama_rpc_in_flight")
    assert samples(metrics.registry, *prefixes) == samples(expected, *prefixes)


async def test_counts_reach_prometheus_within_the_flush_delay_and_exposition_never_lags() -> None:
    metrics = Metrics()
    meter = metrics.route("/v2/account", "GET")
    meter.started()
    meter.finished(0, 0.002)
    count = {"code": "0", "method": "GET", "route": "/v2/account"}
    assert metrics.registry.get_sample_value("nakama_api_requests_total", count) is None  # not yet handed over
    await asyncio.sleep(FLUSH_DELAY_SEC * 2)
    assert metrics.registry.get_sample_value("nakama_api_requests_total", count) == 1
    meter.started()
    meter.finished(0, 0.002)
    assert b'nakama_api_requests_total{code="0",method="GET",route="/v2/account"} 2.0' in metrics.exposition()
