"""The ``initializer`` handed to ``init_module``: how a module registers its functions.

Every registration is checked at once (an ``async def`` with the right parameters,
an id not taken yet, a known hook name), and a mistake raises ``RegistrationError``
naming the module file and line of the offending call, so start-up stops there.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from nakama_py.cluster.event_log import check_log_name
from nakama_py.proto.realtime_pb2 import Envelope
from nakama_py.runtime.logger import RuntimeLogger
from nakama_py.runtime.match_handlers import CALLBACKS as MATCH_CALLBACKS
from nakama_py.runtime.match_handlers import is_factory
from nakama_py.runtime.registry import (
    HOOKABLE_METHODS,
    EventEntry,
    HookEntry,
    HttpRouteEntry,
    LogConsumerEntry,
    MatchEntry,
    MatchmakerMatchedEntry,
    Origin,
    Registry,
    ResetEntry,
    RpcEntry,
    TaskEntry,
    TournamentEntry,
)

_RUNTIME_DIR = str(Path(__file__).resolve().parent)


class RegistrationError(Exception):
    """A registration a module made is wrong; the message starts with ``file:line:``."""

    def __init__(self, origin: Origin, message: str) -> None:
        super().__init__(f"{origin}: {message}")
        self.origin = origin
        self.message = message


class ConfigurationError(ValueError):
    """A module's setting (from ``runtime.env``) is wrong: start-up stops with this message alone, no traceback.

    The message should name the key: ``racing_cycle_seconds: 7 does not divide a minute``."""


def caller_origin() -> Origin:
    """The first frame outside nakama_py.runtime: the module line that made the call."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_RUNTIME_DIR):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return Origin("<unknown>", 0)
    return Origin(frame.f_code.co_filename, frame.f_lineno)


def _is_async(fn: Any) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    # An object whose class defines ``async def __call__``.
    return not inspect.isfunction(fn) and inspect.iscoroutinefunction(type(fn).__call__)


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def _parameters(fn: Any) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(?)"


def check_function(origin: Origin, what: str, fn: Any, params: tuple[str, ...]) -> None:
    """``fn`` must be an ``async def`` callable with exactly these positional parameters."""
    wanted = ", ".join(params)
    if not callable(fn):
        raise RegistrationError(origin, f"{what}: expected an async function, got {type(fn).__name__}")
    if not _is_async(fn):
        raise RegistrationError(origin, f"{what}: {_name(fn)} must be a coroutine function: "
                                        f"write `async def {_name(fn)}({wanted})`")
    try:
        inspect.signature(fn).bind(*params)
    except TypeError:
        raise RegistrationError(origin, f"{what}: {_name(fn)} must take ({wanted}), "
                                        f"but its signature is {_parameters(fn)}") from None
    except ValueError:  # no signature available: accept it
        return


RPC_PARAMS = ("ctx", "logger", "nk", "payload")
BEFORE_PARAMS = ("ctx", "logger", "nk", "message")
AFTER_PARAMS = ("ctx", "logger", "nk", "reply", "message")
RESET_PARAMS = ("ctx", "logger", "nk", "leaderboard", "reset")
TASK_PARAMS = ("ctx", "logger", "nk")
RT_BEFORE_PARAMS = ("ctx", "logger", "nk", "envelope")
RT_AFTER_PARAMS = ("ctx", "logger", "nk", "reply", "envelope")
EVENT_PARAMS = ("ctx", "logger", "nk", "event")
# Nakama's socket message names (lower-cased, no underscores) -> the envelope field that carries them.
RT_MESSAGES = {field.message_type.name.lower(): field.name
               for field in Envelope.DESCRIPTOR.oneofs_by_name["message"].fields if field.message_type is not None}
TOURNAMENT_PARAMS = ("ctx", "logger", "nk", "tournament", "end", "reset")
HTTP_PARAMS = ("ctx", "logger", "nk", "request")
LOG_PARAMS = ("ctx", "logger", "nk", "batch")
MAX_LOG_BATCH = 1000
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
# The server's own paths: a module route may not shadow them (Nakama's API and socket, the health check).
RESERVED_HTTP_PREFIXES = ("/v2/", "/ws", "/healthcheck")


def _valid_pattern(path: str) -> bool:
    """A path pattern aiohttp can route (its ``{name}``/``{name:regex}`` syntax is gorilla mux's)."""
    if not path.startswith("/") or path == "/" or any(c in path for c in " ?#\t\n"):
        return False
    try:
        web.UrlDispatcher().add_resource(path)
    except (ValueError, re.error):
        return False
    return True
MATCHMAKER_MATCHED_PARAMS = ("ctx", "logger", "nk", "entries")


class Initializer:
    """Registers one module's functions into the registry being built."""

    def __init__(self, registry: Registry, module: str) -> None:
        self._registry = registry
        self._module = module
        self._open = True

    def close(self) -> None:
        self._open = False

    def _origin(self, what: str) -> Origin:
        origin = caller_origin()
        if not self._open:
            raise RegistrationError(origin, f"{what}: the initializer only works inside init_module")
        return origin

    def _logger(self, **fields: Any) -> RuntimeLogger:
        return RuntimeLogger({"module": self._module, **fields})

    def register_rpc(self, id: str, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, payload: str) -> str | None``; ``id`` is case-insensitive."""
        origin = self._origin(f"register_rpc({id!r})")
        what = f"register_rpc({id!r})"
        if not isinstance(id, str) or not id:
            raise RegistrationError(origin, f"{what}: the id must be a non-empty string")
        check_function(origin, what, fn, RPC_PARAMS)
        key = id.lower()
        taken = self._registry.rpcs.get(key)
        if taken is not None:
            raise RegistrationError(origin, f"{what}: the RPC id {key!r} is already registered at {taken.origin} "
                                            "(ids are case-insensitive)")
        self._registry.rpcs[key] = RpcEntry(key, fn, self._logger(rpc_id=key), self._module, origin)

    def _hook(self, kind: str, table: dict[str, HookEntry], name: str, fn: Any, params: tuple[str, ...]) -> None:
        what = f"register_{kind}({name!r})"
        origin = self._origin(what)
        key = name.lower() if isinstance(name, str) else ""
        if key not in HOOKABLE_METHODS:
            raise RegistrationError(origin, f"{what}: unknown method name; use Nakama's API method names such as "
                                            "'AuthenticateCustom' or 'WriteLeaderboardRecord'")
        check_function(origin, what, fn, params)
        taken = table.get(key)
        if taken is not None:
            raise RegistrationError(origin, f"{what}: a {kind} hook for {name!r} is already registered at "
                                            f"{taken.origin}")
        table[key] = HookEntry(key, fn, self._logger(hook=f"{kind} {name}"), self._module, origin)

    def register_before(self, name: str, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, message: dict) -> dict | None`` before the REST method ``name``.

        Return the (possibly rewritten) message to go on, None to answer 404 "Requested resource
        was not found.", or raise ``NakamaError`` to reject the request with that code.
        """
        self._hook("before", self._registry.before, name, fn, BEFORE_PARAMS)

    def register_after(self, name: str, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, reply, message: dict) -> None`` after ``name`` succeeded."""
        self._hook("after", self._registry.after, name, fn, AFTER_PARAMS)

    def register_leaderboard_reset(self, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, leaderboard, reset: int)``: once per reset of a scheduled board."""
        origin = self._origin("register_leaderboard_reset")
        check_function(origin, "register_leaderboard_reset", fn, RESET_PARAMS)
        self._registry.resets.append(ResetEntry(fn, self._logger(hook="leaderboard_reset"), self._module, origin))

    def _rt_hook(self, kind: str, table: dict[str, HookEntry], name: str, fn: Any, params: tuple[str, ...]) -> None:
        what = f"register_rt_{kind}({name!r})"
        origin = self._origin(what)
        key = RT_MESSAGES.get(name.lower().replace("_", "")) if isinstance(name, str) else None
        if key is None or key == "rpc":
            raise RegistrationError(origin, f"{what}: unknown socket message name; use Nakama's message names "
                                            "such as 'ChannelJoin' or 'StatusFollow' (RPCs have no socket hooks)")
        check_function(origin, what, fn, params)
        taken = table.get(key)
        if taken is not None:
            raise RegistrationError(origin, f"{what}: a {kind} hook for {name!r} is already registered at "
                                            f"{taken.origin}")
        table[key] = HookEntry(key, fn, self._logger(hook=f"rt {kind} {name}"), self._module, origin)

    def register_rt_before(self, name: str, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, envelope: dict) -> dict | None`` before a socket message.

        ``envelope`` is the message as JSON clients send it (``{"cid": ..., "channel_join": {...}}``).
        Return it (possibly changed) to go on, None to refuse it (the socket gets "Requested resource
        was not found." and is closed, as in Nakama), or raise ``NakamaError`` to answer an error."""
        self._rt_hook("before", self._registry.rt_before, name, fn, RT_BEFORE_PARAMS)

    def register_rt_after(self, name: str, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, reply: dict | None, envelope: dict)`` after a socket message succeeded."""
        self._rt_hook("after", self._registry.rt_after, name, fn, RT_AFTER_PARAMS)

    def register_event_session_start(self, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, event: dict)`` when a socket connects (ctx has its session)."""
        origin = self._origin("register_event_session_start")
        check_function(origin, "register_event_session_start", fn, EVENT_PARAMS)
        self._registry.session_start.append(
            HookEntry("session_start", fn, self._logger(hook="session_start"), self._module, origin))

    def register_event_session_end(self, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, event: dict)`` when a socket closes (``event["properties"]["reason"]``)."""
        origin = self._origin("register_event_session_end")
        check_function(origin, "register_event_session_end", fn, EVENT_PARAMS)
        self._registry.session_end.append(
            HookEntry("session_end", fn, self._logger(hook="session_end"), self._module, origin))

    def register_shutdown(self, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk)``: when the server process stops, before the database closes."""
        origin = self._origin("register_shutdown")
        check_function(origin, "register_shutdown", fn, TASK_PARAMS)
        self._registry.shutdowns.append(
            TaskEntry(_name(fn), fn, self._logger(hook="shutdown"), self._module, origin))

    def register_background_job(self, name: str, interval_sec: float, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk)`` every ``interval_sec`` on exactly one server process at a time.

        With several processes (or servers) on one database, one of them holds the job; when
        it stops or dies another takes it over within about a second.
        """
        what = f"register_background_job({name!r})"
        origin = self._origin(what)
        if not isinstance(name, str) or not name:
            raise RegistrationError(origin, f"{what}: the name must be a non-empty string")
        if (not isinstance(interval_sec, (int, float)) or isinstance(interval_sec, bool)
                or not math.isfinite(interval_sec) or interval_sec <= 0):
            raise RegistrationError(origin, f"{what}: interval_sec must be a positive number of seconds")
        check_function(origin, what, fn, TASK_PARAMS)
        taken = self._registry.jobs.get(name)
        if taken is not None:
            raise RegistrationError(origin, f"{what}: a background job named {name!r} is already registered at "
                                            f"{taken.origin}")
        self._registry.jobs[name] = TaskEntry(name, fn, self._logger(job=name), self._module, origin,
                                              float(interval_sec))

    def register_match(self, name: str, handler: Any) -> None:
        """A match handler ``nk.match_create(name, params)`` starts: an object with Nakama's seven
        callbacks as methods (``def`` or ``async def``; see runtime/match_handlers.py and docs/runtime.md),
        or a class (any callable without ``match_init``) called once per match for a fresh instance."""
        what = f"register_match({name!r})"
        origin = self._origin(what)
        if not isinstance(name, str) or not name:
            raise RegistrationError(origin, f"{what}: the name must be a non-empty string")
        taken = self._registry.matches.get(name)
        if taken is not None:
            raise RegistrationError(origin, f"{what}: a match handler named {name!r} is already registered at "
                                            f"{taken.origin}")
        # A factory function's instances are checked when a match starts.
        checked = {} if is_factory(handler) and not inspect.isclass(handler) else MATCH_CALLBACKS
        for callback, params in checked.items():
            fn = getattr(handler, callback, None)
            if fn is None or not callable(fn):
                raise RegistrationError(origin, f"{what}: the handler has no {callback}({', '.join(params)}) method")
            try:
                signature = inspect.signature(fn)
                # A class's methods are unbound here: self comes first.
                signature.bind(*(("self",) if inspect.isclass(handler) else ()), *params)
            except TypeError:
                raise RegistrationError(origin, f"{what}: {callback} must take ({', '.join(params)}), "
                                                f"but its signature is {_parameters(fn)}") from None
            except ValueError:
                continue
        self._registry.matches[name] = MatchEntry(name, handler, self._logger(match_handler=name), self._module,
                                                  origin)

    # --- social (issue 16) ---------------------------------------------------------------------

    def register_event(self, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, event)`` for each event (``POST /v2/event``, ``nk.event``),
        run off the request path; ``event`` has ``name``, ``properties``, ``timestamp``, ``external``."""
        origin = self._origin("register_event")
        check_function(origin, "register_event", fn, EVENT_PARAMS)
        self._registry.events.append(EventEntry(fn, self._logger(hook="event"), self._module, origin))

    def register_tournament_end(self, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, tournament, end: int, reset: int)``: once (across every server
        process) when a tournament period stops taking scores; ``end``/``reset`` are unix seconds."""
        origin = self._origin("register_tournament_end")
        check_function(origin, "register_tournament_end", fn, TOURNAMENT_PARAMS)
        self._registry.tournament_ends.append(TournamentEntry(fn, self._logger(hook="tournament_end"), self._module,
                                                         origin))

    def register_tournament_reset(self, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, tournament, end: int, reset: int)``: once when a tournament
        period's records expire (its reset)."""
        origin = self._origin("register_tournament_reset")
        check_function(origin, "register_tournament_reset", fn, TOURNAMENT_PARAMS)
        self._registry.tournament_resets.append(TournamentEntry(fn, self._logger(hook="tournament_reset"), self._module,
                                                           origin))

    # --- module HTTP routes (Nakama's RegisterHttp) ----------------------------------------------

    def register_http(self, path: str, fn: Callable[..., Any], methods: list[str] | tuple[str, ...] | None = None,
                      ) -> None:
        """``async def fn(ctx, logger, nk, request: HttpRequest) -> HttpResponse`` for requests to ``path``
        on the API port (``socket.port``), as Nakama's RegisterHttp. ``path`` starts with ``/``, may hold
        ``{name}`` or ``{name:regex}`` segments (``request.path_params``) and must not fall under the
        server's own paths (``/v2/``, ``/ws``, ``/healthcheck``); ``methods`` (default: every method)
        are HTTP method names. The route has no authentication of its own: the handler decides, with
        ``request.session()``/``require_session()``/``require_http_key()``."""
        what = f"register_http({path!r})"
        origin = self._origin(what)
        if not isinstance(path, str) or not _valid_pattern(path):
            raise RegistrationError(origin, f"{what}: the path must start with '/' and name a resource, "
                                            "e.g. '/mygame/status' or '/mygame/items/{id}'")
        if any(path == p.rstrip("/") or path.startswith(p) for p in RESERVED_HTTP_PREFIXES):
            raise RegistrationError(origin, f"{what}: {', '.join(RESERVED_HTTP_PREFIXES)} are the server's own "
                                            "paths; choose another prefix (e.g. your game's name)")
        wanted: tuple[str, ...] = ()
        if methods is not None:
            if isinstance(methods, str) or not all(isinstance(m, str) for m in methods) or not methods:
                raise RegistrationError(origin, f"{what}: methods must be a non-empty list of method names")
            wanted = tuple(dict.fromkeys(m.upper() for m in methods))
            unknown = [m for m in wanted if m not in HTTP_METHODS]
            if unknown:
                raise RegistrationError(origin, f"{what}: unknown HTTP method {unknown[0]!r}; use "
                                                f"{', '.join(sorted(HTTP_METHODS))}")
        check_function(origin, what, fn, HTTP_PARAMS)
        for taken in self._registry.http_routes:
            if taken.path == path and (not taken.methods or not wanted or set(taken.methods) & set(wanted)):
                raise RegistrationError(origin, f"{what}: the path is already registered at {taken.origin} "
                                                "for the same method")
        self._registry.http_routes.append(
            HttpRouteEntry(path, wanted, fn, self._logger(http=path), self._module, origin))

    # --- the event log (nk.event_log_append) -------------------------------------------------------

    def _log_name(self, origin: Origin, what: str, log: str) -> str:
        try:
            return check_log_name(log)
        except ValueError as exc:
            raise RegistrationError(origin, f"{what}: {exc}") from None

    def register_event_log_consumer(self, log: str, fn: Callable[..., Any], *, batch_size: int = 100,
                                    max_wait_ms: int = 100) -> None:
        """``async def fn(ctx, logger, nk, batch: LogBatch)`` for the entries appended to ``log``
        (``nk.event_log_append``), up to ``batch_size`` at a time, on every server process of every node
        (they share one durable consumer: each entry goes to one process at a time). A batch whose call
        returns is acknowledged; one whose call raises (or whose process dies) is delivered again, so
        ``fn`` must be idempotent. Needs ``cluster.nats_url``."""
        what = f"register_event_log_consumer({log!r})"
        origin = self._origin(what)
        self._log_name(origin, what, log)
        if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_LOG_BATCH:
            raise RegistrationError(origin, f"{what}: batch_size must be 1 to {MAX_LOG_BATCH}")
        if not isinstance(max_wait_ms, int) or not 1 <= max_wait_ms <= 60_000:
            raise RegistrationError(origin, f"{what}: max_wait_ms must be 1 to 60000")
        check_function(origin, what, fn, LOG_PARAMS)
        taken = self._registry.log_consumers.get(log)
        if taken is not None:
            raise RegistrationError(origin, f"{what}: the log already has a consumer, registered at {taken.origin}")
        self._registry.log_consumers[log] = LogConsumerEntry(log, fn, self._logger(event_log=log), self._module,
                                                             origin, batch_size, max_wait_ms / 1000)

    def register_event_log_screen(self, log: str, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, batch: list[LogEntry]) -> dict[str, str] | None`` before each batch
        of ``log`` reaches its consumer (fraud screening): return ``{msg_id: reason}`` for the entries to
        reject; the consumer gets them in ``batch.rejected``. Screens run in registration order; one that
        raises fails the batch, which is delivered again later (screens must be idempotent too)."""
        what = f"register_event_log_screen({log!r})"
        origin = self._origin(what)
        self._log_name(origin, what, log)
        check_function(origin, what, fn, LOG_PARAMS)
        self._registry.log_screens.setdefault(log, []).append(
            HookEntry(log, fn, self._logger(event_log_screen=log), self._module, origin))
    # --- matchmaker (issue 15) -----------------------------------------------------------------

    def register_matchmaker_matched(self, fn: Callable[..., Any]) -> None:
        """``async def fn(ctx, logger, nk, entries: list[MatchmakerEntry]) -> str | None`` when the
        matchmaker forms a group: return a match id (e.g. from ``nk.match_create``) to send the players
        to it, or None (or "") for a relayed match token. A raised error is logged and the group gets a
        token. One function per server (as in Nakama); it runs on the matchmaker's leader process."""
        origin = self._origin("register_matchmaker_matched")
        check_function(origin, "register_matchmaker_matched", fn, MATCHMAKER_MATCHED_PARAMS)
        taken = self._registry.matchmaker_matched
        if taken is not None:
            raise RegistrationError(origin, f"register_matchmaker_matched: a function is already registered at "
                                            f"{taken.origin}")
        self._registry.matchmaker_matched = MatchmakerMatchedEntry(
            fn, self._logger(hook="matchmaker_matched"), self._module, origin)
