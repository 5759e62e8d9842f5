"""What a run's tail latency is made of, from the server's own Prometheus endpoint (``--metrics-url``):
garbage-collector pauses and event-loop stalls (``<prefix>_gc_pause_seconds``,
``<prefix>_event_loop_lag_seconds``, summed over the server's processes) counted over the measured
window, beside the server-side request latency (``<prefix>_api_request_duration_seconds``)."""

from __future__ import annotations

import re
import urllib.request
from collections import defaultdict
from typing import Any

# Label values may hold braces (route="/v2/rpc/{id}"): quoted strings are skipped whole.
SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>(?:[^"}]|"(?:[^"\\]|\\.)*")*)\})?'
                    r' (?P<value>[-+0-9.eEinfNa]+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
STALL_SEC = (0.01, 0.05, 0.1)

Histogram = dict[str, float]  # "sum", "count", and "le=<bound>" cumulative counts


def scrape(url: str, timeout: float = 5.0) -> dict[str, Histogram]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return parse(response.read().decode())


def parse(text: str) -> dict[str, Histogram]:
    """Histograms by "<name>[/<label value>...]" (labels other than le), summed over processes."""
    found: dict[str, Histogram] = defaultdict(lambda: defaultdict(float))
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match is None:
            continue
        name, value = match["name"], float(match["value"])
        labels = dict(LABEL.findall(match["labels"] or ""))
        bound = labels.pop("le", None)
        for suffix, part in (("_bucket", f"le={bound}"), ("_sum", "sum"), ("_count", "count")):
            if name.endswith(suffix):
                key = "/".join([name[: -len(suffix)], *labels.values()])
                found[key][part] += value
                break
    return {key: dict(values) for key, values in found.items()}


def _delta(before: dict[str, Histogram], after: dict[str, Histogram], key: str) -> Histogram:
    first = before.get(key, {})
    return {part: value - first.get(part, 0.0) for part, value in after.get(key, {}).items()}


def _above(histogram: Histogram, seconds: float) -> int:
    """Observations above ``seconds`` (a bucket bound)."""
    return round(histogram.get("count", 0.0) - histogram.get(f"le={seconds}", 0.0))


def _quantile(histogram: Histogram, q: float) -> float | None:
    """The upper bound of the bucket holding quantile ``q``."""
    total = histogram.get("count", 0.0)
    if total <= 0:
        return None
    bounds = sorted((float(part[3:]), count) for part, count in histogram.items() if part.startswith("le="))
    for bound, count in bounds:
        if count >= q * total:
            return bound
    return None


def breakdown(before: dict[str, Histogram], after: dict[str, Histogram], window_s: float) -> dict[str, Any]:
    """GC pauses by generation, event-loop stalls and server-side latency over the window."""
    out: dict[str, Any] = {}
    if any(key.split("/", 1)[0].endswith("_gc_pause_seconds") for key in after):
        out["gc"] = "no collection in the window"  # replaced below by each generation that paused
    for key in sorted(after):
        name = key.split("/", 1)[0]
        if name.endswith("_gc_pause_seconds"):
            hist = _delta(before, after, key)
            if hist.get("count"):
                out.pop("gc", None)
                generation = key.split("/", 1)[1] if "/" in key else "?"
                out[f"gc_gen{generation}"] = {
                    "pauses": round(hist["count"]), "total_ms": round(1000 * hist.get("sum", 0.0), 1),
                    "share_of_time": round(hist.get("sum", 0.0) / window_s, 4) if window_s else None,
                    "over_10ms": _above(hist, 0.01)}
        elif name.endswith("_event_loop_lag_seconds"):
            hist = _delta(before, after, key)
            if hist.get("count"):
                out["loop_stalls"] = {"probes": round(hist["count"]),
                                      **{f"over_{round(s * 1000)}ms": _above(hist, s) for s in STALL_SEC},
                                      "mean_lag_ms": round(1000 * hist.get("sum", 0.0) / hist["count"], 2)}
        elif name.endswith("_api_request_duration_seconds"):
            hist = _delta(before, after, key)
            if hist.get("count", 0) >= 100:
                route = key.split("/", 1)[1] if "/" in key else key
                out[f"server_latency {route}"] = {"requests": round(hist["count"]),
                                                  "p50_ms_le": _ms(_quantile(hist, 0.5)),
                                                  "p99_ms_le": _ms(_quantile(hist, 0.99))}
    return out


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
