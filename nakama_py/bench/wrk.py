"""The wrk engine: a closed loop driven by wrk (C, epoll) with our Lua script, for when the
pure-Python generator would cost the server too much CPU. wrk has no warm-up option, so the
warm-up is a separate, discarded wrk run; tokens are refreshed between the two.
"""

from __future__ import annotations

import math
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from nakama_py.bench.results import Counts, GeneratorCpu, Latency, LoadResult
from nakama_py.bench.target import Target
from nakama_py.bench.traffic import TrafficSpec
from nakama_py.bench.wrk_lua import MARKER, render_script


class WrkError(Exception):
    pass


def find_wrk() -> str | None:
    return shutil.which("wrk")


@dataclass(frozen=True)
class WrkPlan:
    target: Target
    traffic: TrafficSpec
    tokens: Sequence[str]
    connections: int
    threads: int
    warmup_s: float
    duration_s: float
    timeout_s: float = 10.0


def whole_seconds(seconds: float) -> int:
    """wrk takes whole seconds."""
    return max(1, math.ceil(seconds - 1e-9))


def run_wrk(plan: WrkPlan, fresh_tokens: Callable[[], Sequence[str]] | None = None,
            executable: str | None = None) -> LoadResult:
    """Warm-up run (discarded), then ``fresh_tokens()`` outside any timed window, then the measured run."""
    wrk = executable or find_wrk()
    if wrk is None:
        raise WrkError("wrk is not installed")
    threads = max(1, min(plan.threads, plan.connections))
    with tempfile.TemporaryDirectory(prefix="nakama-py-bench-") as tmp:
        tokens_file = Path(tmp) / "tokens.txt"
        script = Path(tmp) / "traffic.lua"
        tokens_path = str(tokens_file) if plan.traffic.needs_tokens else ""
        tokens_file.write_text("\n".join(plan.tokens) + "\n")
        if plan.warmup_s > 0:
            script.write_text(render_script(_tagged(plan.traffic, "w"), tokens_path, threads))
            _invoke(wrk, plan, threads, script, whole_seconds(plan.warmup_s))
        if fresh_tokens is not None:
            tokens_file.write_text("\n".join(fresh_tokens()) + "\n")
        script.write_text(render_script(_tagged(plan.traffic, "m"), tokens_path, threads))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        report = _invoke(wrk, plan, threads, script, whole_seconds(plan.duration_s))
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return _result(report, cpu_s, wall, threads)


def _tagged(traffic: TrafficSpec, tag: str) -> TrafficSpec:
    # New account ids and idempotency keys differ between the warm-up and the measured run.
    return replace(traffic, unique_prefix=f"{traffic.unique_prefix}{tag}")


def _invoke(wrk: str, plan: WrkPlan, threads: int, script: Path, seconds: int) -> dict[str, object]:
    argv = [wrk, "-t", str(threads), "-c", str(plan.connections), "-d", f"{seconds}s",
            "--timeout", f"{whole_seconds(plan.timeout_s)}s", "-s", str(script), plan.target.url + "/"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + plan.timeout_s + 60,
                              env={**os.environ, "LC_ALL": "C"}, check=False)
    except subprocess.TimeoutExpired:
        raise WrkError(f"wrk did not finish: {' '.join(argv)}") from None
    for line in done.stdout.splitlines():
        if line.startswith(MARKER):
            data = orjson.loads(line[len(MARKER):])
            assert isinstance(data, dict)
            return data
    raise WrkError(f"wrk exited with {done.returncode} without a report:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _result(report: dict[str, object], cpu_s: float, wall_s: float, threads: int) -> LoadResult:
    latency = report["latency_us"]
    statuses = report["statuses"]
    errors = report["errors"]
    assert isinstance(latency, dict) and isinstance(statuses, dict) and isinstance(errors, dict)
    duration = int(report["duration_us"]) / 1e6  # type: ignore[call-overload]
    counts = Counts()
    counts.add_statuses({int(k): int(v) for k, v in statuses.items()})
    counts.add_socket_errors({str(k): int(v) for k, v in errors.items()})
    summary = Latency(**{name: float(latency[name]) / 1000 for name in ("p50", "p90", "p99", "p99_9", "max", "mean")})
    # wrk is one process whose threads can each use a core: "busiest" is its share of those.
    cpu = GeneratorCpu(cpu_s, wall_s, 1, cpu_s / wall_s / threads if wall_s > 0 else 0.0)
    return LoadResult(engine="wrk", wall_s=duration, counts=counts, latency=summary, cpu=cpu)
