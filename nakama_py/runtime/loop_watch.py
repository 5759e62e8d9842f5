"""The event loop's watchdog: how late it runs timers (``<prefix>_event_loop_lag_seconds``), and a
warning naming the RPC when a module holds it (a blocking call, a CPU-bound loop).

A timer on the loop beats every ``interval``; a thread checks the beat. When the loop is late by
more than ``stall`` the thread reads the loop thread's Python stack (the await chain of the task
running) for the RPC being called and the module line it is at, and logs it while the loop is still
held, so a module that never lets go is named too. When the loop beats again the stall's length is
logged and counted by RPC. The loop also samples what the process holds (memory, file descriptors,
tasks, and what ``samplers`` add, such as database connections), so a soak shows a leak as a slope.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

from nakama_py.metrics import Metrics
from nakama_py.runtime.service import LoadedRuntime

log = logging.getLogger("nakama_py.loop")

CALL_RPC = LoadedRuntime.call_rpc.__code__
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rpc_on_stack(frame: FrameType | None) -> tuple[str, str]:
    """The RPC id being called on this stack, and the innermost line outside nakama-py."""
    rpc, where = "", ""
    while frame is not None:
        code = frame.f_code
        if not where and not code.co_filename.startswith((PACKAGE_DIR, "<")) and "/asyncio/" not in code.co_filename:
            where = f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
        if code is CALL_RPC:
            rpc = str(frame.f_locals.get("rpc_id", ""))
            break
        frame = frame.f_back
    return rpc, where


def process_holdings() -> tuple[int, int]:
    """(resident bytes, open file descriptors) of this process, from /proc."""
    try:
        with open("/proc/self/statm") as statm:
            rss = int(statm.read().split()[1]) * PAGE
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0, 0
    return rss, fds


class LoopWatch:
    def __init__(self, metrics: Metrics, *, interval: float = 0.1, stall: float = 0.25,
                 sample_every: float = 5.0, samplers: Sequence[Callable[[], None]] = ()) -> None:
        self.metrics = metrics
        self.interval = interval
        self.stall = stall
        self.sample_every = sample_every
        self.samplers = list(samplers)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._due = 0.0
        self._next_sample = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Written by the watchdog thread while the loop is held, read by the loop once it runs.
        self._held_rpc: str | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._due = time.monotonic()
        self._beat()
        self._thread = threading.Thread(target=self._watch, name="loop-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.cancel()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _beat(self) -> None:
        now = time.monotonic()
        lag = max(0.0, now - self._due)
        self.metrics.loop_lag.observe(lag)
        if lag > self.stall:
            rpc = self._held_rpc or ""
            self._held_rpc = None
            self.metrics.loop_stalls.labels(rpc or "none").inc()
            log.warning("event loop was blocked", extra={"fields": {"blocked_ms": round(lag * 1000), "rpc": rpc}})
        if now >= self._next_sample:
            self._next_sample = now + self.sample_every
            self._sample()
        self._due = now + self.interval
        assert self._loop is not None
        self._timer = self._loop.call_later(self.interval, self._beat)

    def _sample(self) -> None:
        rss, fds = process_holdings()
        self.metrics.process_rss.set(rss)
        self.metrics.process_fds.set(fds)
        self.metrics.asyncio_tasks.set(len(asyncio.all_tasks()))
        for sample in self.samplers:
            sample()

    def _watch(self) -> None:
        reported_for = 0.0
        while not self._stop.wait(self.interval / 2):
            due = self._due
            late = time.monotonic() - due
            if late <= self.stall or reported_for == due:
                continue
            reported_for = due
            rpc, where = rpc_on_stack(sys._current_frames().get(self._loop_thread))
            self._held_rpc = rpc
            log.warning("event loop is blocked", extra={"fields": {
                "blocked_ms": round(late * 1000), "rpc": rpc, "at": where}})
