"""One call of a module function (an RPC, a hook, a job...) as the ``nk`` object sees it.

The runtime opens a ``CallScope`` around every module function it calls and keeps it in
a context variable, so ``nk`` knows, without the module passing anything:

- the session user of the call, whose own leaderboard writes the leaderboard reads wait
  for (read-your-writes across worker processes, core/write_marks.py), once per call;
- the ``nk`` coroutines the call created. A coroutine the module forgot to ``await`` never
  runs, so its write silently never happens; when the call ends, one that never started
  and that nothing else holds (no task was made of it) is closed, and the call fails with
  ``UnawaitedNkCall`` naming the call and the ``nk`` functions (logged where the runtime
  logs the function's failure: an RPC answers 13 "Internal Server Error").

Costs per ``nk`` call: one context-variable read and one list append.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from inspect import CORO_CREATED, getcoroutinestate
from types import CoroutineType
from typing import Any, ParamSpec, TypeVar, cast

P = ParamSpec("P")
T = TypeVar("T")

# Kept finished coroutines are dropped when this many accumulate (a long job makes thousands).
_COMPACT_AT = 64
# References an orphan coroutine has while checked: the list, the loop variable, getrefcount's argument
# (CPython's reference counts; a task made of the coroutine holds one more).
_ORPHAN_REFS = 3


class UnawaitedNkCall(RuntimeError):
    """A module function returned while ``nk`` calls it made were never awaited (a bug in the
    module: not a NakamaError, so the client gets no details)."""

    def __init__(self, call: str, names: list[str]) -> None:
        listed = ", ".join(f"nk.{name}" for name in names)
        super().__init__(f"{call} returned without awaiting {listed}: the call never ran")
        self.call = call
        self.names = names


class CallScope:
    __slots__ = ("catch_up_for", "kind", "limit", "name", "started")

    def __init__(self, kind: str, name: str, user_id: str | None = None) -> None:
        self.kind = kind                  # "rpc", "before hook", "background job"...
        self.name = name                  # the RPC id, hook, job or module name
        self.catch_up_for = user_id       # the session user, whose writes leaderboard reads wait for;
                                          # None without one, or once they waited
        self.started: list[CoroutineType[Any, Any, Any]] = []
        self.limit = _COMPACT_AT          # compact ``started`` when it reaches this length

    def unawaited(self) -> list[str]:
        """Close every ``nk`` coroutine of this call that never ran and never will; their names."""
        names: list[str] = []
        for coro in self.started:
            if coro.cr_frame is None:
                continue  # finished: the common case
            if getcoroutinestate(coro) == CORO_CREATED and sys.getrefcount(coro) <= _ORPHAN_REFS:
                names.append(coro.__name__)
                coro.close()  # no "never awaited" RuntimeWarning later: it is reported here
        self.started.clear()
        return names

    def compact(self) -> None:
        """Forget the coroutines that finished; those still pending stay watched."""
        self.started = [coro for coro in self.started if coro.cr_frame is not None]
        self.limit = max(_COMPACT_AT, 2 * len(self.started))


CURRENT: ContextVar[CallScope | None] = ContextVar("nakama_py_runtime_call", default=None)


def tracked(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """An ``nk`` coroutine method whose coroutines the current call scope keeps an eye on."""

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T]:
        coro = fn(*args, **kwargs)
        scope = CURRENT.get()
        if scope is not None:
            started = scope.started
            started.append(cast("CoroutineType[Any, Any, Any]", coro))
            if len(started) >= scope.limit:
                scope.compact()
        return coro

    return call


def finish(scope: CallScope) -> None:
    """At the end of a call: raise ``UnawaitedNkCall`` for the ``nk`` calls it left un-awaited."""
    if scope.started:
        names = scope.unawaited()
        if names:
            raise UnawaitedNkCall(f"{scope.kind} {scope.name!r}", names)
