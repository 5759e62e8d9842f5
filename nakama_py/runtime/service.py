"""The runtime of one server process: loads the modules and calls their functions.

``load_runtime`` imports the modules of ``runtime.path`` with the ``nk`` the composition
root built (state.py), runs their ``init_module`` and returns a ``LoadedRuntime``: what
they registered, and how to call it. The composition root installs its parts (the hook
runner, the leaderboard reset handler, the background jobs); the runtime holds no
reference to the server state. Every RPC call goes through ``call_rpc``, the one place
RPCs are measured (count, latency, in flight) and their errors mapped.

Every module function runs inside a ``CallScope`` (runtime/call_scope.py): ``nk``'s
leaderboard reads wait there for the caller's own writes, and ``nk`` calls left
un-awaited fail the call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from nakama_py.core.events import Event
from nakama_py.core.leaderboard_types import Leaderboard as ServerLeaderboard
from nakama_py.core.matchmaker import MatchmakerEntry
from nakama_py.core.sessions import SessionService
from nakama_py.core.tournaments import Tournament
from nakama_py.errors import Code, NakamaError
from nakama_py.metrics import Metrics
from nakama_py.runtime import type_conversions as to_public
from nakama_py.runtime.call_scope import CURRENT, CallScope, finish
from nakama_py.runtime.context import (
    BACKGROUND,
    EVENT,
    EVENT_LOG,
    LEADERBOARD_RESET,
    MATCHMAKER,
    RUN_ONCE,
    SHUTDOWN,
    TOURNAMENT_END,
    TOURNAMENT_RESET,
    Context,
    RuntimeInfo,
)
from nakama_py.runtime.hook_runner import RuntimeHooks
from nakama_py.runtime.initializer import Initializer
from nakama_py.runtime.loader import RuntimeLoadError, load_modules
from nakama_py.runtime.logger import RuntimeLogger
from nakama_py.runtime.nk import NakamaModule
from nakama_py.runtime.registry import (
    HttpRouteEntry,
    LogConsumerEntry,
    Registry,
    RpcEntry,
    TaskEntry,
    TournamentEntry,
)
from nakama_py.runtime.rt_hooks import RuntimeRtHooks
from nakama_py.runtime.types import HttpRequest, HttpResponse, LogBatch, LogEntry

log = logging.getLogger("nakama_py.runtime")

INTERNAL_MESSAGE = "Internal Server Error"
INVALID_RESULT = "Runtime function returned invalid data - only allowed one return value of type String/Byte."


class InternalRpcError(NakamaError):
    """An RPC failed with something other than a NakamaError: code 13, nothing internal told."""

    def __init__(self, message: str = INTERNAL_MESSAGE) -> None:
        super().__init__(message, Code.INTERNAL)


class LoadedRuntime:
    """What the modules registered, and the calls into them; empty until modules load."""

    def __init__(self, registry: Registry | None = None, info: RuntimeInfo | None = None,
                 nk: NakamaModule | None = None, metrics: Metrics | None = None,
                 hooks: RuntimeHooks | None = None, rt_hooks: RuntimeRtHooks | None = None) -> None:
        self.registry = registry or Registry()
        self.info = info or RuntimeInfo({}, "nakama", "")
        self.nk = nk
        self.hooks = hooks          # None without before/after hooks: the server keeps NoHooks
        self.rt_hooks = rt_hooks    # None without socket hooks or session events
        self._metrics = metrics
        self._stopped = False

    @property
    def jobs(self) -> list[TaskEntry]:
        """The background jobs, for the composition root to run on one process at a time."""
        return list(self.registry.jobs.values())

    @property
    def handles_resets(self) -> bool:
        return bool(self.registry.resets)

    @property
    def handles_events(self) -> bool:
        return bool(self.registry.events)

    @property
    def handles_tournament_ends(self) -> bool:
        return bool(self.registry.tournament_ends)

    @property
    def handles_tournament_resets(self) -> bool:
        return bool(self.registry.tournament_resets)

    @property
    def handles_matchmaker_matched(self) -> bool:
        return self.registry.matchmaker_matched is not None

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
        meter = metrics.rpc(rpc_id)
        meter.started()
        started = time.perf_counter()
        code = 0
        scope = CallScope("rpc", rpc_id, ctx.user_id)
        token = CURRENT.set(scope)
        try:
            result = await entry.fn(ctx, entry.logger, self.nk, payload)
            if scope.started:
                finish(scope)
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
            CURRENT.reset(token)
            meter.finished(code, time.perf_counter() - started)

    # --- module HTTP routes -------------------------------------------------------------

    @property
    def http_routes(self) -> list[HttpRouteEntry]:
        return list(self.registry.http_routes)

    async def call_http(self, entry: HttpRouteEntry, ctx: Context, request: HttpRequest) -> HttpResponse:
        """Run a module HTTP handler: its response, or a NakamaError for the client (anything else
        is logged and becomes ``InternalRpcError``, as for RPCs)."""
        scope = CallScope("http", entry.path)
        token = CURRENT.set(scope)
        try:
            result = await entry.fn(ctx, entry.logger, self.nk, request)
            if scope.started:
                finish(scope)
        except (NakamaError, asyncio.CancelledError):
            raise
        except Exception as exc:
            entry.logger.error("HTTP handler failed", exc_info=True)
            raise InternalRpcError() from exc
        finally:
            CURRENT.reset(token)
        if not isinstance(result, HttpResponse):
            entry.logger.error("HTTP handler returned something other than an HttpResponse",
                               result_type=type(result).__name__)
            raise InternalRpcError()
        return result

    # --- event log consumers ------------------------------------------------------------

    @property
    def log_consumers(self) -> list[LogConsumerEntry]:
        return list(self.registry.log_consumers.values())

    async def run_log_batch(self, entry: LogConsumerEntry, entries: list[LogEntry]) -> None:
        """The log's screens, then its consumer, for one batch. Anything raised fails the batch (it is
        delivered again later), after being logged."""
        rejected: dict[str, str] = {}
        for screen in self.registry.log_screens.get(entry.log, ()):
            try:
                verdicts = await _scoped("event log screen", entry.log, screen.fn(
                    Context(self.info, EVENT_LOG), screen.logger, self.nk, list(entries)))
            except Exception:
                screen.logger.error("event log screen failed; the batch will be delivered again", exc_info=True)
                raise
            for msg_id, reason in (verdicts or {}).items():
                rejected.setdefault(str(msg_id), str(reason))
        try:
            await _scoped("event log consumer", entry.log, entry.fn(
                Context(self.info, EVENT_LOG), entry.logger, self.nk, LogBatch(entries, rejected)))
        except Exception:
            entry.logger.error("event log consumer failed; the batch will be delivered again", exc_info=True,
                               entries=len(entries))
            raise

    # --- leaderboard resets, jobs, shutdown ---------------------------------------------

    async def run_resets(self, board: ServerLeaderboard, reset: int) -> None:
        """Called by the reset scheduler once per reset; every module's function runs.

        A failure is logged, and once all have run it is raised, so the scheduler tries the reset
        again later (reset functions must be idempotent)."""
        failed: list[str] = []
        leaderboard = to_public.leaderboard(board)
        for entry in self.registry.resets:
            try:
                await _scoped("leaderboard reset function", entry.module, entry.fn(
                    Context(self.info, LEADERBOARD_RESET), entry.logger, self.nk, leaderboard, reset))
            except Exception:
                entry.logger.error("leaderboard reset function failed", exc_info=True,
                                   leaderboard_id=leaderboard.id, reset=reset)
                failed.append(f"{entry.module} ({entry.origin})")
        if failed:
            raise RuntimeError(f"leaderboard reset functions failed: {', '.join(failed)}")

    async def run_event(self, event: Event) -> None:
        """Every module's event function, with the sender's session in ``ctx``; failures are logged."""
        for entry in self.registry.events:
            try:
                await _scoped("event function", entry.module,
                              entry.fn(Context(self.info, EVENT, event.sender), entry.logger, self.nk, event))
            except Exception:
                entry.logger.error("event function failed", exc_info=True, event=event.name)

    async def run_tournament_end(self, tournament: Tournament, end: int, reset: int) -> None:
        await self._tournament_hooks(self.registry.tournament_ends, TOURNAMENT_END, tournament, end, reset)

    async def run_tournament_reset(self, tournament: Tournament, end: int, reset: int) -> None:
        await self._tournament_hooks(self.registry.tournament_resets, TOURNAMENT_RESET, tournament, end, reset)

    async def _tournament_hooks(self, entries: list[TournamentEntry], mode: str, tournament: Tournament, end: int,
                                reset: int) -> None:
        """Every module's function; a failure is raised once all have run, so the scheduler retries
        the moment later (like leaderboard resets: these functions should be idempotent)."""
        failed: list[str] = []
        for entry in entries:
            try:
                await _scoped(f"{mode} function", entry.module,
                              entry.fn(Context(self.info, mode), entry.logger, self.nk, tournament, end, reset))
            except Exception:
                entry.logger.error(f"{mode} function failed", exc_info=True, tournament_id=tournament.id)
                failed.append(f"{entry.module} ({entry.origin})")
        if failed:
            raise RuntimeError(f"{mode} functions failed: {', '.join(failed)}")

    async def run_job(self, entry: TaskEntry) -> None:
        """One run of a background job; its failure is logged."""
        try:
            await _scoped("background job", entry.name,
                          entry.fn(Context(self.info, BACKGROUND), entry.logger, self.nk))
        except Exception:
            entry.logger.error("background job failed", exc_info=True)

    async def run_matchmaker_matched(self, entries: list[MatchmakerEntry]) -> str | None:
        """The module's match id for a matched group, or None (none registered, none returned, or it
        failed: the failure is logged and the matchmaker falls back to a relayed match token)."""
        entry = self.registry.matchmaker_matched
        if entry is None:
            return None
        try:
            match_id = await _scoped("matchmaker matched function", entry.module, entry.fn(
                Context(self.info, MATCHMAKER), entry.logger, self.nk, entries))
        except Exception:
            entry.logger.error("matchmaker matched function failed", exc_info=True)
            return None
        if match_id is not None and not isinstance(match_id, str):
            entry.logger.error("matchmaker matched function returned a value that is not a match id string",
                               result_type=type(match_id).__name__)
            return None
        return match_id or None

    async def shutdown(self, timeout: float = 30.0) -> None:
        """Run the shutdown functions (each bounded by ``timeout``), once."""
        if self._stopped:
            return
        self._stopped = True
        for entry in self.registry.shutdowns:
            try:
                await asyncio.wait_for(_scoped("shutdown function", entry.name, entry.fn(
                    Context(self.info, SHUTDOWN), entry.logger, self.nk)), timeout)
            except Exception:
                entry.logger.error("shutdown function failed", exc_info=True)
        if self.nk is not None:
            await self.nk._close_http()  # nk.http_request's connection pool


async def _scoped(kind: str, name: str, call: Any) -> Any:
    """Await a module function's coroutine inside its own call scope (no session user)."""
    scope = CallScope(kind, name)
    token = CURRENT.set(scope)
    try:
        result = await call
        finish(scope)
        return result
    finally:
        CURRENT.reset(token)


def _warn_unless_directory(directory: Path) -> None:
    if not directory.is_dir():
        log.warning("runtime.path is not a directory; no runtime modules loaded",
                    extra={"fields": {"path": str(directory)}})


async def load_runtime(directory: Path, nk: NakamaModule, info: RuntimeInfo, metrics: Metrics,
                       sessions: SessionService, *, configured: bool = True) -> LoadedRuntime:
    """Load every module of ``directory``; raises ``RuntimeLoadError`` when one fails.

    ``configured``: ``runtime.path`` was set explicitly (a missing directory is then worth a warning).
    """
    def init_args(module: str, initializer: Initializer) -> tuple[Any, Any, Any]:
        return Context(info, RUN_ONCE), RuntimeLogger({"module": module}), nk

    if configured:
        _warn_unless_directory(directory)
    try:
        registry = await load_modules(directory, init_args)
    except RuntimeLoadError as exc:
        if exc.configuration:
            log.error(exc.summary)
        else:
            log.error(f"runtime module failed to load: {exc.summary}",
                      extra={"fields": {"file": exc.file, "line": exc.line, "traceback": exc.details}})
        raise
    hooks = RuntimeHooks(registry, info, nk, sessions) if registry.before or registry.after else None
    socket_hooked = registry.rt_before or registry.rt_after or registry.session_start or registry.session_end
    rt_hooks = RuntimeRtHooks(registry, info, nk) if socket_hooked else None
    if registry.modules:
        log.info("runtime modules loaded", extra={"fields": {
            "path": str(directory), "modules": registry.modules, "rpcs": sorted(registry.rpcs),
            "before_hooks": sorted(registry.before), "after_hooks": sorted(registry.after),
            "background_jobs": sorted(registry.jobs)}})
    return LoadedRuntime(registry, info, nk, metrics, hooks, rt_hooks)
