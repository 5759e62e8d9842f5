"""The runtime of one server process: loads the modules, calls their functions, and
runs their background jobs and shutdown functions.

``start`` runs once the other services exist (modules call them from
``init_module``); until then, and when no module is loaded, the runtime serves
no RPCs and installs no hooks. Every RPC call goes through ``call_rpc``, the one
place RPCs are measured (count, latency, in flight) and their errors mapped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from nakama_py.errors import Code, NakamaError
from nakama_py.runtime.background import BackgroundJobs
from nakama_py.runtime.context import BACKGROUND, LEADERBOARD_RESET, RUN_ONCE, SHUTDOWN, Context, RuntimeInfo
from nakama_py.runtime.hook_runner import RuntimeHooks
from nakama_py.runtime.initializer import Initializer
from nakama_py.runtime.loader import RuntimeLoadError, load_modules
from nakama_py.runtime.logger import RuntimeLogger
from nakama_py.runtime.nk import NakamaModule
from nakama_py.runtime.registry import Registry, RpcEntry, TaskEntry

if TYPE_CHECKING:
    from nakama_py.metrics import Metrics
    from nakama_py.state import ServerState

log = logging.getLogger("nakama_py.runtime")

INTERNAL_MESSAGE = "Internal Server Error"
INVALID_RESULT = "Runtime function returned invalid data - only allowed one return value of type String/Byte."


class InternalRpcError(NakamaError):
    """An RPC failed with something other than a NakamaError: code 13, nothing internal told."""

    def __init__(self, message: str = INTERNAL_MESSAGE) -> None:
        super().__init__(message, Code.INTERNAL)


class Runtime:
    def __init__(self) -> None:
        self.registry = Registry()
        self.info = RuntimeInfo({}, "nakama", "")  # replaced by start()
        self.nk: NakamaModule | None = None
        self.jobs: BackgroundJobs | None = None
        self._metrics: Metrics | None = None
        self._caught_up: Callable[[str], Awaitable[None]] | None = None
        self._stopped = False

    # --- start-up ------------------------------------------------------------------

    async def start(self, state: ServerState) -> None:
        """Load every module of ``runtime.path``; raises ``RuntimeLoadError`` when one fails."""
        config = state.config
        info = RuntimeInfo(config.runtime.env_map, state.node, state.version, config.socket.proxy_count)
        nk = NakamaModule(state, info)

        def init_args(module: str, initializer: Initializer) -> tuple[Any, Any, Any]:
            return Context(info, RUN_ONCE), RuntimeLogger({"module": module}), nk

        directory = config.runtime_path
        if config.runtime.path and not directory.is_dir():
            log.warning("runtime.path is not a directory; no runtime modules loaded",
                        extra={"fields": {"path": str(directory)}})
        try:
            registry = await load_modules(directory, init_args)
        except RuntimeLoadError as exc:
            log.error(f"runtime module failed to load: {exc.summary}",
                      extra={"fields": {"file": exc.file, "line": exc.line, "traceback": exc.details}})
            raise
        self.info, self.nk, self.registry, self._metrics = info, nk, registry, state.metrics
        self._caught_up = state.leaderboards.caught_up
        if registry.before or registry.after:
            state.hooks = RuntimeHooks(registry, info, nk, state.sessions)
        if registry.resets:
            state.leaderboards.on_reset(self._on_reset)
        if registry.jobs:
            self.jobs = BackgroundJobs(state.db.session_conninfo, list(registry.jobs.values()), self._run_job)
            self.jobs.start()
        if registry.modules:
            log.info("runtime modules loaded", extra={"fields": {
                "path": str(directory), "modules": registry.modules, "rpcs": sorted(registry.rpcs),
                "before_hooks": sorted(registry.before), "after_hooks": sorted(registry.after),
                "background_jobs": sorted(registry.jobs)}})

    # --- RPCs ------------------------------------------------------------------------

    def rpc(self, rpc_id: str) -> RpcEntry | None:
        """The RPC registered under this id, matched case-insensitively."""
        rpcs = self.registry.rpcs
        return rpcs.get(rpc_id) or rpcs.get(rpc_id.lower())

    async def call_rpc(self, entry: RpcEntry, ctx: Context, payload: str) -> str | bytes:
        """Run an RPC: its result (``""`` for None), or a NakamaError for the client.

        Anything but a NakamaError is logged with its traceback and becomes ``InternalRpcError``.
        """
        metrics = self._metrics
        assert metrics is not None
        rpc_id = entry.id
        metrics.rpc_started(rpc_id)
        started = time.perf_counter()
        code = 0
        try:
            user_id = ctx.user_id
            if user_id is not None and self._caught_up is not None:
                # A player's RPC sees their own latest leaderboard writes, whichever worker took them.
                await self._caught_up(user_id)
            result = await entry.fn(ctx, entry.logger, self.nk, payload)
            if result is None:
                return ""
            if not isinstance(result, (str, bytes)):
                entry.logger.error("RPC returned a value that is not a string",
                                   result_type=type(result).__name__)
                raise InternalRpcError(INVALID_RESULT)
            return result
        except NakamaError as exc:
            code = exc.code
            raise
        except asyncio.CancelledError:
            code = Code.CANCELLED
            raise
        except Exception as exc:
            code = Code.INTERNAL
            entry.logger.error("RPC function failed", exc_info=True)
            raise InternalRpcError() from exc
        finally:
            metrics.rpc_finished(rpc_id, code, time.perf_counter() - started)

    # --- leaderboard resets, jobs, shutdown ---------------------------------------------

    async def _on_reset(self, leaderboard: Any, reset: int) -> None:
        """Called by the reset scheduler once per reset; every module's function runs.

        A failure is logged, and once all have run it is raised, so the scheduler tries the reset
        again later (reset functions must be idempotent)."""
        failed: list[str] = []
        for entry in self.registry.resets:
            try:
                await entry.fn(Context(self.info, LEADERBOARD_RESET), entry.logger, self.nk, leaderboard, reset)
            except Exception:
                entry.logger.error("leaderboard reset function failed", exc_info=True,
                                   leaderboard_id=getattr(leaderboard, "id", ""), reset=reset)
                failed.append(f"{entry.module} ({entry.origin})")
        if failed:
            raise RuntimeError(f"leaderboard reset functions failed: {', '.join(failed)}")

    async def _run_job(self, entry: TaskEntry) -> None:
        try:
            await entry.fn(Context(self.info, BACKGROUND), entry.logger, self.nk)
        except Exception:
            entry.logger.error("background job failed", exc_info=True)

    async def stop(self, timeout: float = 30.0) -> None:
        """Give up background jobs, then run the shutdown functions (each bounded by ``timeout``)."""
        if self._stopped:
            return
        self._stopped = True
        if self.jobs is not None:
            await self.jobs.stop()
        for entry in self.registry.shutdowns:
            try:
                await asyncio.wait_for(entry.fn(Context(self.info, SHUTDOWN), entry.logger, self.nk), timeout)
            except Exception:
                entry.logger.error("shutdown function failed", exc_info=True)
