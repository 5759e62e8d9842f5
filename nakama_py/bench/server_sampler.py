"""What the server holds over a long run (``--sample-every``): resident memory and open file
descriptors of its processes (from /proc, for ``--server-pid`` on this machine, the supervisor and
its workers summed), and asyncio tasks and database connections from its ``/metrics``
(``--metrics-url``). A soak is healthy when these are flat after warm-up; a leak is a slope."""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from nakama_py.bench.process_tree import process_tree

# The server's gauges, whatever its metrics prefix.
GAUGES = {"asyncio_tasks": "asyncio_tasks", "db_connections": "db_pool_connections",
          "rss_bytes_metrics": "process_resident_memory_bytes", "open_fds_metrics": "process_open_fds"}


def proc_holdings(pid: int) -> dict[str, int]:
    """Resident memory (bytes) and open file descriptors of a process and its children."""
    rss = fds = 0
    for one in process_tree(pid):
        try:
            with open(f"/proc/{one}/status") as handle:
                rss += next((int(line.split()[1]) * 1024 for line in handle if line.startswith("VmRSS:")), 0)
            fds += len(os.listdir(f"/proc/{one}/fd"))
        except OSError:
            continue
    return {"rss_bytes": rss, "open_fds": fds}


def metrics_gauges(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return parse_gauges(response.read().decode())


def parse_gauges(text: str) -> dict[str, float]:
    """The soak's gauges in a Prometheus exposition, by our names."""
    found: dict[str, float] = {}
    for key, suffix in GAUGES.items():
        match = re.search(r"^\w*_" + suffix + r"(?:\{[^}]*\})? ([0-9.e+-]+)$", text, re.MULTILINE)
        if match:
            found[key] = float(match.group(1))
    return found


class ServerSampler:
    """A thread taking a sample at the start and every ``every`` seconds until stopped."""

    def __init__(self, every_s: float, *, server_pid: int = 0, metrics_url: str = "",
                 log: Callable[[str], None] = lambda _: None) -> None:
        self.every_s = every_s
        self.server_pid = server_pid
        self.metrics_url = metrics_url
        self.log = log
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="server-sampler", daemon=True)
        self._t0 = 0.0

    def __enter__(self) -> ServerSampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()  # the end of the run

    def sample(self) -> None:
        sample: dict[str, Any] = {"t_s": round(time.monotonic() - self._t0, 1)}
        if self.server_pid:
            sample.update(proc_holdings(self.server_pid))
        if self.metrics_url:
            try:
                sample.update(metrics_gauges(self.metrics_url))
            except OSError as exc:
                sample["metrics_error"] = str(exc)
        self.samples.append(sample)
        self.log("server " + ", ".join(f"{k} {v:,.0f}" if isinstance(v, (int, float)) else f"{k} {v}"
                                       for k, v in sample.items()))

    def _run(self) -> None:
        self.sample()
        while not self._stop.wait(self.every_s):
            self.sample()
