"""Python match handlers: a module's handler adapted to the ``MatchCore`` core drives.

A handler (``initializer.register_match(name, handler)``) has Nakama's seven callbacks as
methods, each ``def`` or ``async def``::

    match_init(ctx, logger, nk, params) -> (state, tick_rate, label)
    match_join_attempt(ctx, logger, nk, dispatcher, tick, state, presence, metadata) -> (state, allow[, reason])
    match_join(ctx, logger, nk, dispatcher, tick, state, presences) -> state
    match_leave(ctx, logger, nk, dispatcher, tick, state, presences) -> state
    match_loop(ctx, logger, nk, dispatcher, tick, state, messages) -> state
    match_terminate(ctx, logger, nk, dispatcher, tick, state, grace_seconds) -> state
    match_signal(ctx, logger, nk, dispatcher, tick, state, data) -> (state, result)

Returning None as the state ends the match; raising ends it and closes its players' sockets.
A class (or any callable without ``match_init``) is a factory: each match gets its own instance.
A plain ``def`` runs on the event loop: one that blocks delays every task of the process, and the
match logs it as an overrun; use ``async def`` and await ``nk`` calls.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from nakama_py.core.matches.ids import parse
from nakama_py.core.matches.types import LABEL_MAX_BYTES, TICK_RATE_MAX, TICK_RATE_MIN, MatchHandle, MatchMessage
from nakama_py.core.presence import Presence, PresenceMeta
from nakama_py.errors import NakamaError, invalid_argument
from nakama_py.runtime.call_scope import CURRENT, CallScope, finish
from nakama_py.runtime.context import Context, RuntimeInfo
from nakama_py.runtime.logger import RuntimeLogger
from nakama_py.runtime.types import MatchPresence

MATCH = "match"

CALLBACKS: dict[str, tuple[str, ...]] = {
    "match_init": ("ctx", "logger", "nk", "params"),
    "match_join_attempt": ("ctx", "logger", "nk", "dispatcher", "tick", "state", "presence", "metadata"),
    "match_join": ("ctx", "logger", "nk", "dispatcher", "tick", "state", "presences"),
    "match_leave": ("ctx", "logger", "nk", "dispatcher", "tick", "state", "presences"),
    "match_loop": ("ctx", "logger", "nk", "dispatcher", "tick", "state", "messages"),
    "match_terminate": ("ctx", "logger", "nk", "dispatcher", "tick", "state", "grace_seconds"),
    "match_signal": ("ctx", "logger", "nk", "dispatcher", "tick", "state", "data"),
}


def is_factory(handler: Any) -> bool:
    return inspect.isclass(handler) or (callable(handler) and not hasattr(handler, "match_init"))


def public_presence(presence: Presence) -> MatchPresence:
    return MatchPresence(presence.user_id, presence.session_id, presence.meta.username, presence.process)


class MatchContext(Context):
    """``ctx`` of a match callback: the usual fields plus the match's id, node, label and tick rate
    (and how late the current tick started)."""

    __slots__ = ("_handle",)
    _handle: MatchHandle

    def __init__(self, info: RuntimeInfo, handle: MatchHandle) -> None:
        super().__init__(info, MATCH)
        object.__setattr__(self, "_handle", handle)

    @property
    def match_id(self) -> str:
        return self._handle.match_id

    @property
    def match_node(self) -> str:
        return self._handle.node

    @property
    def match_label(self) -> str:
        return self._handle.label

    @property
    def match_tick_rate(self) -> int:
        return self._handle.tick_rate

    @property
    def match_tick_lateness(self) -> float:
        """nakama-py's own: how many seconds late the current tick started (``match_loop``)."""
        return self._handle.tick_lateness


class Dispatcher:
    """What match callbacks use to act on their match. Messages are sent once the callback returns."""

    __slots__ = ("_handle",)

    def __init__(self, handle: MatchHandle) -> None:
        self._handle = handle

    def _presences(self, presences: Sequence[MatchPresence | Mapping[str, Any]] | None) -> list[Presence] | None:
        if presences is None:
            return None
        found = []
        for p in presences:
            user_id, session_id = ((p.user_id, p.session_id) if isinstance(p, MatchPresence)
                                   else (p.get("user_id"), p.get("session_id")))
            presence = self._handle.presence_of(str(user_id), str(session_id))
            if presence is not None:
                found.append(presence)
        return found

    def _send(self, op_code: int, data: bytes | str | None, presences: Any, sender: Any, reliable: bool,
              deferred: bool) -> None:
        if isinstance(op_code, bool) or not isinstance(op_code, int):
            raise invalid_argument("expects an integer op code")
        payload = data.encode() if isinstance(data, str) else bytes(data or b"")
        targets = self._presences(presences)
        if targets is not None and not targets:
            return
        from_presence = None
        if sender is not None:
            user_id = sender.user_id if isinstance(sender, MatchPresence) else sender.get("user_id")
            session_id = sender.session_id if isinstance(sender, MatchPresence) else sender.get("session_id")
            username = sender.username if isinstance(sender, MatchPresence) else sender.get("username", "")
            node = sender.node if isinstance(sender, MatchPresence) else sender.get("node", "")
            stream = parse(self._handle.match_id).stream  # type: ignore[union-attr]  # a running match's id
            from_presence = Presence(stream, str(user_id), str(session_id), str(node),
                                     PresenceMeta(str(username)))
        self._handle.broadcast(op_code, payload, targets, from_presence, reliable, deferred=deferred)

    def broadcast_message(self, op_code: int, data: bytes | str | None = None,
                          presences: Sequence[MatchPresence | Mapping[str, Any]] | None = None,
                          sender: MatchPresence | Mapping[str, Any] | None = None, reliable: bool = True) -> None:
        """``match_data`` to every presence of the match, or to ``presences`` among them."""
        self._send(op_code, data, presences, sender, reliable, False)

    def broadcast_message_deferred(self, op_code: int, data: bytes | str | None = None,
                                   presences: Sequence[MatchPresence | Mapping[str, Any]] | None = None,
                                   sender: MatchPresence | Mapping[str, Any] | None = None,
                                   reliable: bool = True) -> None:
        """As ``broadcast_message``, counted against ``match.deferred_queue_size`` per callback."""
        self._send(op_code, data, presences, sender, reliable, True)

    def match_kick(self, presences: Sequence[MatchPresence | Mapping[str, Any]]) -> None:
        self._handle.kick(self._presences(presences) or [])

    def match_label_update(self, label: str) -> None:
        if not isinstance(label, str):
            raise invalid_argument("expects a string label")
        self._handle.update_label(label)


async def _call(scope_name: str, fn: Any, *args: Any) -> Any:
    """One callback inside its call scope; a plain ``def``'s result is used as is."""
    scope = CallScope("match handler", scope_name)
    token = CURRENT.set(scope)
    try:
        result = fn(*args)
        if inspect.isawaitable(result):
            result = await result
        finish(scope)
        return result
    finally:
        CURRENT.reset(token)


class PythonMatchCore:
    """One match's handler instance, with its ctx, logger, ``nk`` and dispatcher."""

    def __init__(self, name: str, handler: Any, info: RuntimeInfo, nk: Any, logger: RuntimeLogger) -> None:
        self.handler_name = name
        self._handler = handler
        self._info = info
        self._nk = nk
        self._logger = logger
        self._ctx: MatchContext | None = None
        self._dispatcher: Dispatcher | None = None

    def _args(self) -> tuple[MatchContext, RuntimeLogger, Any, Dispatcher]:
        assert self._ctx is not None and self._dispatcher is not None
        return self._ctx, self._logger, self._nk, self._dispatcher

    async def init(self, handle: MatchHandle, params: Mapping[str, Any]) -> tuple[Any, int, str]:
        self._ctx = MatchContext(self._info, handle)
        self._dispatcher = Dispatcher(handle)
        self._logger = self._logger.with_fields(mid=handle.match_id)
        result = await _call(self.handler_name, self._handler.match_init, self._ctx, self._logger, self._nk,
                             dict(params))
        if not isinstance(result, tuple) or len(result) != 3:
            raise NakamaError("match_init must return (state, tick_rate, label)", 13)
        state, rate, label = result
        if isinstance(rate, bool) or not isinstance(rate, int) or not TICK_RATE_MIN <= rate <= TICK_RATE_MAX:
            raise invalid_argument(f"match_init: tick rate must be {TICK_RATE_MIN}-{TICK_RATE_MAX} per second")
        label = "" if label is None else label
        if not isinstance(label, str) or len(label.encode()) > LABEL_MAX_BYTES:
            raise invalid_argument("match label too long, must be 0-2048 bytes")
        return state, rate, label

    async def join_attempt(self, tick: int, state: Any, presence: Presence,
                           metadata: Mapping[str, str]) -> tuple[Any, bool, str]:
        result = await _call(self.handler_name, self._handler.match_join_attempt, *self._args(), tick, state,
                             public_presence(presence), dict(metadata))
        if result is None:
            return None, False, ""
        if not isinstance(result, tuple) or len(result) not in (2, 3):
            raise NakamaError("match_join_attempt must return (state, allow) or (state, allow, reason)", 13)
        reason = result[2] if len(result) == 3 and result[2] is not None else ""
        return result[0], bool(result[1]), str(reason)

    async def join(self, tick: int, state: Any, presences: list[Presence]) -> Any:
        return await _call(self.handler_name, self._handler.match_join, *self._args(), tick, state,
                           [public_presence(p) for p in presences])

    async def leave(self, tick: int, state: Any, presences: list[Presence]) -> Any:
        return await _call(self.handler_name, self._handler.match_leave, *self._args(), tick, state,
                           [public_presence(p) for p in presences])

    async def loop(self, tick: int, state: Any, messages: list[MatchMessage]) -> Any:
        return await _call(self.handler_name, self._handler.match_loop, *self._args(), tick, state, messages)

    async def terminate(self, tick: int, state: Any, grace_seconds: int) -> Any:
        return await _call(self.handler_name, self._handler.match_terminate, *self._args(), tick, state,
                           grace_seconds)

    async def signal(self, tick: int, state: Any, data: str) -> tuple[Any, str]:
        result = await _call(self.handler_name, self._handler.match_signal, *self._args(), tick, state, data)
        if result is None:
            return None, ""
        if not isinstance(result, tuple) or len(result) != 2:
            raise NakamaError("match_signal must return (state, result)", 13)
        return result[0], "" if result[1] is None else str(result[1])


class MatchFactories:
    """The registered handlers by name; what ``MatchRegistry.factory`` calls to start a match."""

    def __init__(self, handlers: Mapping[str, tuple[Any, RuntimeLogger]], info: RuntimeInfo, nk: Any) -> None:
        self._handlers = dict(handlers)
        self._info = info
        self._nk = nk

    def __call__(self, name: str) -> PythonMatchCore | None:
        entry = self._handlers.get(name)
        if entry is None:
            return None
        handler, logger = entry
        instance = handler() if is_factory(handler) else handler
        return PythonMatchCore(name, instance, self._info, self._nk, logger)
