"""``--mid-rpc ID``: one RPC (with the http key) in the middle of the measured window, timed, to see
what an operation costs the live load around it (e.g. racing's ``run_retention`` dropping an expired
cycle while the mix runs: compare the run's p99 with a run without it)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from nakama_py.bench.cycle import call_rpc
from nakama_py.bench.pool import HttpPool
from nakama_py.bench.target import Target


class MidCall:
    def __init__(self, target: Target, rpc: str, window_s: float) -> None:
        self.target = target
        self.rpc = rpc
        self.window_s = window_s
        self.result: dict[str, Any] = {"rpc": rpc, "status": 0}
        self._timer: threading.Timer | None = None

    def open_in(self, delay_s: float) -> None:
        """The measured window opens ``delay_s`` from now: call at its middle."""
        self._timer = threading.Timer(delay_s + self.window_s / 2, lambda: asyncio.run(self._call()))
        self._timer.daemon = True
        self._timer.start()

    async def _call(self) -> None:
        async with HttpPool(self.target, size=1) as pool:
            started = time.monotonic()
            response = await call_rpc(pool, self.rpc, {}, http_key=self.target.http_key)
            self.result["duration_ms"] = round(1000 * (time.monotonic() - started), 1)
            self.result["status"] = response.status
            self.result["reply"] = response.rpc_payload() if response.status == 200 else response.describe()

    def close(self) -> dict[str, Any]:
        if self._timer is not None:
            self._timer.join()
        return self.result
