"""The bench's tail breakdown from two scrapes of a server's Prometheus text."""

from __future__ import annotations

from nakama_py.bench.server_metrics import breakdown, parse

BEFORE = """
# TYPE nakama_gc_pause_seconds histogram
nakama_gc_pause_seconds_bucket{generation="2",le="0.01"} 1.0
nakama_gc_pause_seconds_bucket{generation="2",le="0.05"} 1.0
nakama_gc_pause_seconds_bucket{generation="2",le="+Inf"} 1.0
nakama_gc_pause_seconds_count{generation="2"} 1.0
nakama_gc_pause_seconds_sum{generation="2"} 0.004
nakama_event_loop_lag_seconds_bucket{le="0.01"} 10.0
nakama_event_loop_lag_seconds_bucket{le="0.05"} 10.0
nakama_event_loop_lag_seconds_bucket{le="0.1"} 10.0
nakama_event_loop_lag_seconds_bucket{le="+Inf"} 10.0
nakama_event_loop_lag_seconds_count 10.0
nakama_event_loop_lag_seconds_sum 0.01
"""

AFTER = """
nakama_gc_pause_seconds_bucket{generation="2",le="0.01"} 2.0
nakama_gc_pause_seconds_bucket{generation="2",le="0.05"} 4.0
nakama_gc_pause_seconds_bucket{generation="2",le="+Inf"} 4.0
nakama_gc_pause_seconds_count{generation="2"} 4.0
nakama_gc_pause_seconds_sum{generation="2"} 0.1
nakama_event_loop_lag_seconds_bucket{le="0.01"} 100.0
nakama_event_loop_lag_seconds_bucket{le="0.05"} 105.0
nakama_event_loop_lag_seconds_bucket{le="0.1"} 108.0
nakama_event_loop_lag_seconds_bucket{le="+Inf"} 110.0
nakama_event_loop_lag_seconds_count 110.0
nakama_event_loop_lag_seconds_sum 0.5
nakama_api_request_duration_seconds_bucket{le="0.005",method="GET",route="/v2/rpc/{id}"} 150.0
nakama_api_request_duration_seconds_bucket{le="0.05",method="GET",route="/v2/rpc/{id}"} 199.0
nakama_api_request_duration_seconds_bucket{le="+Inf",method="GET",route="/v2/rpc/{id}"} 200.0
nakama_api_request_duration_seconds_count{method="GET",route="/v2/rpc/{id}"} 200.0
nakama_api_request_duration_seconds_sum{method="GET",route="/v2/rpc/{id}"} 1.0
"""


def test_pauses_and_stalls_are_counted_over_the_window() -> None:
    found = breakdown(parse(BEFORE), parse(AFTER), window_s=10.0)
    assert found["gc_gen2"] == {"pauses": 3, "total_ms": 96.0, "share_of_time": 0.0096, "over_10ms": 2}
    assert found["loop_stalls"] == {"probes": 100, "over_10ms": 10, "over_50ms": 5, "over_100ms": 2,
                                    "mean_lag_ms": 4.9}
    assert found["server_latency GET//v2/rpc/{id}"] == {"requests": 200, "p50_ms_le": 5.0, "p99_ms_le": 50.0}


def test_a_window_without_collections_says_so() -> None:
    found = breakdown(parse(AFTER), parse(AFTER), window_s=10.0)
    assert found["gc"] == "no collection in the window"
    assert "gc_gen2" not in found
