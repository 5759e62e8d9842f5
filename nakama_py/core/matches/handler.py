"""One running authoritative match: its own asyncio task, its queues, its ticks.

The task runs ``match_loop`` at the handler's tick rate with the messages received since the
last tick, and between ticks the queued calls (joins and leaves first, then join attempts, then
signals). Every callback of one match runs in order on that task, so a slow or blocked callback
delays only its own match's ticks: other matches are other tasks. Ticks that could not run on
time are skipped, as a Go ticker drops them, and logged; how late each tick starts is measured
(``MatchHost.tick_late``).

Nakama's rules: a callback that raises ends the match and closes its players' sockets; one that
returns None state ends it; a full call queue ends it ("processing too slow"); a full input queue
drops the message; a full join attempt or signal queue refuses that call only. An allowed join
that the tracker never confirms within ``join_marker_deadline_ms`` becomes a leave. A match empty
for ``max_empty_sec`` ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from nakama_py.config import MatchConfig
from nakama_py.core.matches.ids import MatchId
from nakama_py.core.matches.types import LABEL_MAX_BYTES, JoinResult, MatchCore, MatchMessage
from nakama_py.core.presence import Presence, Stream
from nakama_py.errors import MatchBusy, NakamaError, invalid_argument
from nakama_py.proto.realtime_pb2 import Envelope

log = logging.getLogger("nakama_py.matches")

# An overrunning match (or one dropping input) logs at most once per this many seconds.
OVERRUN_LOG_INTERVAL_SEC = 10.0
# Join markers are swept this often (Nakama: every 30 s of ticks).
MARKER_SWEEP_SEC = 30.0


class MatchHost(Protocol):
    """What a match needs from its process (the registry)."""

    async def send(self, envelope: Envelope, presences: Sequence[Presence]) -> None: ...

    async def kick(self, stream: Stream, presences: Sequence[Presence]) -> None: ...

    def label_changed(self, handler: MatchHandler) -> None: ...

    async def removed(self, handler: MatchHandler, *, disconnect: bool) -> None: ...

    def tick_late(self, seconds: float) -> None: ...


class _Stop(Exception):
    """A callback ended the match (None state or an error); raised to leave the task's loop."""


Call = Callable[[], Awaitable[None]]
T = TypeVar("T")


class MatchHandler:
    def __init__(self, match_id: MatchId, core: MatchCore, config: MatchConfig, host: MatchHost) -> None:
        self.id = match_id
        self.id_str = str(match_id)
        self.stream = match_id.stream
        self.core = core
        self.create_time = time.time()
        self._config = config
        self._host = host
        self._state: Any = None
        self._label = ""
        self._rate = 1
        self.tick = 0
        self.tick_lateness = 0.0  # how late the current tick started (seconds)
        self.presences: dict[str, Presence] = {}      # session id -> presence, in join order
        self._markers: dict[str, tuple[Presence, float]] = {}  # allowed joins the tracker has not confirmed
        self._inputs: deque[MatchMessage] = deque()
        self._calls: deque[Call] = deque()
        self._attempts: deque[Call] = deque()
        self._signals: deque[Call] = deque()
        self._outgoing: list[tuple[Envelope, list[Presence]]] = []
        self._deferred = 0
        self._waiting: set[asyncio.Future[Any]] = set()  # answers of queued join attempts and signals
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._empty_ticks = 0
        self._last_overrun_log = 0.0
        self._last_drop_log = 0.0
        self._dropped = 0  # input messages dropped for a full queue, over the match's life
        self.stopped = False
        self.done = asyncio.Event()

    # --- MatchHandle (the dispatcher and ctx of the callbacks) ------------------------------

    @property
    def match_id(self) -> str:
        return self.id_str

    @property
    def node(self) -> str:
        return self.id.node

    @property
    def label(self) -> str:
        return self._label

    @property
    def tick_rate(self) -> int:
        return self._rate

    def broadcast(self, op_code: int, data: bytes, presences: Sequence[Presence] | None, sender: Presence | None,
                  reliable: bool, *, deferred: bool = False) -> None:
        if deferred:
            if self._deferred >= self._config.deferred_queue_size:
                raise invalid_argument("too many deferred message broadcasts per tick")
            self._deferred += 1
        envelope = Envelope()
        message = envelope.match_data
        message.match_id = self.id_str
        message.op_code = op_code
        message.data = data
        message.reliable = reliable
        if sender is not None:
            message.presence.CopyFrom(sender.to_proto())
        # The match's own presence list, as Nakama's dispatcher: a player admitted this instant is in it
        # before the tracker has their presence.
        if presences is None:
            targets = list(self.presences.values())
        else:
            targets = [self.presences[p.session_id] for p in presences if p.session_id in self.presences]
        if targets:
            self._outgoing.append((envelope, targets))

    def kick(self, presences: Sequence[Presence]) -> None:
        gone = [self.presences[p.session_id] for p in presences if p.session_id in self.presences]
        if gone:
            self._later(self._host.kick(self.stream, gone))

    def update_label(self, label: str) -> None:
        if len(label.encode()) > LABEL_MAX_BYTES:
            raise invalid_argument("match label too long, must be 0-2048 bytes")
        if label != self._label:
            self._label = label
            self._host.label_changed(self)

    def presence_of(self, user_id: str, session_id: str) -> Presence | None:
        presence = self.presences.get(session_id)
        return presence if presence is not None and presence.user_id == user_id else None

    # --- start and stop ---------------------------------------------------------------------

    async def start(self, params: Mapping[str, Any]) -> None:
        """Run ``match_init`` and start the task; raises what init raised (the match never ran)."""
        state, rate, label = await self.core.init(self, params)
        if state is None:
            raise NakamaError("Match initial state must not be nil", 13)
        self._rate = rate
        self._label = label
        self._state = state
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"match {self.id_str}")

    async def stop(self, *, disconnect: bool = False) -> None:
        """End the match: its remaining broadcasts go out, its presences leave, listings drop it."""
        if self.stopped:
            return
        self.stopped = True
        self._wake.set()
        await self._flush()
        for queue in (self._attempts, self._signals, self._calls):
            queue.clear()
        for answer in self._waiting:
            if not answer.done():
                answer.set_exception(MatchBusy())
        self._waiting.clear()
        await self._host.removed(self, disconnect=disconnect)
        self.done.set()

    def cancel(self) -> None:
        """Shutdown (no grace period, or at its end): the match stops without further callbacks."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    # --- what the registry queues -----------------------------------------------------------

    def queue_data(self, message: MatchMessage) -> None:
        if self.stopped:
            return
        if len(self._inputs) >= self._config.input_queue_size:
            self._dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log >= OVERRUN_LOG_INTERVAL_SEC:  # a flood must not flood the log
                self._last_drop_log = now
                log.warning("match handler data processing too slow, dropping data messages",
                            extra={"fields": {"mid": self.id_str, "dropped": self._dropped}})
            return
        self._inputs.append(message)

    def _queue_call(self, call: Call) -> bool:
        if self.stopped:
            return False
        if len(self._calls) >= self._config.call_queue_size:
            log.warning("match handler call processing too slow, closing match", extra={"fields": {"mid": self.id_str}})
            self._later(self.stop(disconnect=True))
            return False
        self._calls.append(call)
        self._wake.set()
        return True

    async def join_attempt(self, presence: Presence, metadata: Mapping[str, str]) -> JoinResult:
        if presence.session_id in self.presences:
            return JoinResult(True, True, "", self._label, tuple(self.presences.values()), is_new=False)
        if self.stopped:
            return JoinResult(False)
        if len(self._attempts) >= self._config.join_attempt_queue_size:
            log.warning("match handler join attempt queue full", extra={"fields": {"mid": self.id_str}})
            return JoinResult(True, False, "Match is not currently accepting join requests")
        answer: asyncio.Future[JoinResult] = asyncio.get_running_loop().create_future()

        async def attempt() -> None:
            state, allow, reason = await self.core.join_attempt(self.tick, self._state, presence, metadata)
            self._keep(state, "match_join_attempt")
            if allow:
                self._markers[presence.session_id] = (presence, time.monotonic())
                self._queue_call(lambda: self._joined([presence]))
            if not answer.done():
                others = tuple(p for p in self.presences.values() if p.session_id != presence.session_id)
                answer.set_result(JoinResult(True, allow, reason, self._label, others))

        self._attempts.append(self._guarded(attempt, answer))
        self._wake.set()
        return await self._answer(answer)

    async def signal(self, data: str) -> str:
        if self.stopped:
            raise MatchBusy()
        if len(self._signals) >= self._config.signal_queue_size:
            raise MatchBusy()
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def signal() -> None:
            state, result = await self.core.signal(self.tick, self._state, data)
            self._keep(state, "match_signal")
            if not answer.done():
                answer.set_result(result)

        self._signals.append(self._guarded(signal, answer))
        self._wake.set()
        return await self._answer(answer)

    def tracker_joined(self, presences: list[Presence]) -> None:
        """The tracker confirmed these joins (the players' processes tracked them)."""
        for presence in presences:
            self._markers.pop(presence.session_id, None)

    def tracker_left(self, presences: list[Presence]) -> None:
        """These presences left the match's stream (left, kicked, disconnected, their process died)."""
        # Not filtered here: an admitted player's join may still be queued; ``_left`` runs after it.
        self._queue_call(lambda: self._left(presences))

    def terminate(self, grace_seconds: int) -> bool:
        async def terminate() -> None:
            state = await self.core.terminate(self.tick, self._state, grace_seconds)
            self._keep(state, "match_terminate")
            if grace_seconds == 0:
                raise _Stop()
        return self._queue_call(terminate)

    # --- the task -------------------------------------------------------------------------

    async def _answer(self, answer: asyncio.Future[T]) -> T:
        self._waiting.add(answer)
        try:
            return await answer
        finally:
            self._waiting.discard(answer)

    def _guarded(self, call: Call, answer: asyncio.Future[Any]) -> Call:
        """A queued call whose waiter is answered even when the call ends the match."""
        async def run() -> None:
            try:
                await call()
            finally:
                if not answer.done():
                    answer.set_exception(MatchBusy())
        return run

    async def _joined(self, presences: list[Presence]) -> None:
        new = [p for p in presences if p.session_id not in self.presences]
        for presence in new:
            self.presences[presence.session_id] = presence
        if new:
            self._keep(await self.core.join(self.tick, self._state, new), "match_join")

    async def _left(self, presences: list[Presence]) -> None:
        gone = [self.presences.pop(p.session_id) for p in presences if p.session_id in self.presences]
        for presence in gone:
            self._markers.pop(presence.session_id, None)
        if gone:
            self._keep(await self.core.leave(self.tick, self._state, gone), "match_leave")

    def _keep(self, state: Any, callback: str) -> None:
        if state is None:
            log.info(f"{callback} returned no state, stopping match", extra={"fields": {"mid": self.id_str}})
            raise _Stop()
        self._state = state

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = 1.0 / self._rate
        next_tick = loop.time() + interval
        last_sweep = loop.time()
        max_empty_ticks = self._rate * self._config.max_empty_sec
        disconnect = False
        try:
            while not self.stopped:
                now = loop.time()
                if now >= next_tick:
                    self.tick_lateness = now - next_tick
                    self._host.tick_late(self.tick_lateness)
                    started = time.perf_counter()
                    await self._tick(max_empty_ticks)
                    self._check_overrun("match_loop", time.perf_counter() - started, interval)
                    next_tick += interval
                    behind = loop.time() - next_tick
                    if behind > interval:  # whole ticks missed: skip them, as a Go ticker drops ticks
                        next_tick += interval * int(behind / interval)
                    if now - last_sweep >= MARKER_SWEEP_SEC:
                        last_sweep = now
                        self._sweep_markers()
                    continue
                queue = self._calls or self._attempts or self._signals
                if queue:
                    call = queue.popleft()
                    started = time.perf_counter()
                    await call()
                    self._check_overrun("match callback", time.perf_counter() - started, interval)
                    await self._flush()
                    continue
                self._wake.clear()
                timer = loop.call_at(next_tick, self._wake.set)
                await self._wake.wait()
                timer.cancel()
        except _Stop:
            pass
        except asyncio.CancelledError:
            log.info("match stopped: the server is shutting down", extra={"fields": {"mid": self.id_str}})
        except Exception:
            log.warning("stopping match after an error from its handler", exc_info=True,
                        extra={"fields": {"mid": self.id_str, "tick": self.tick}})
            disconnect = True
        await self.stop(disconnect=disconnect)

    async def _tick(self, max_empty_ticks: int) -> None:
        messages = list(self._inputs)
        self._inputs.clear()
        self._keep(await self.core.loop(self.tick, self._state, messages), "match_loop")
        await self._flush()
        if max_empty_ticks > 0:
            if self.presences:
                self._empty_ticks = 0
            else:
                self._empty_ticks += 1
                if self._empty_ticks >= max_empty_ticks:
                    log.warning("stopping idle empty match", extra={"fields": {"mid": self.id_str,
                                                                              "empty_ticks": self._empty_ticks}})
                    raise _Stop()
        self.tick += 1

    def _check_overrun(self, what: str, seconds: float, interval: float) -> None:
        if seconds <= interval:
            return
        now = time.monotonic()
        if now - self._last_overrun_log >= OVERRUN_LOG_INTERVAL_SEC:
            self._last_overrun_log = now
            log.warning(f"{what} overran its tick: a blocking call in the handler delays this match",
                        extra={"fields": {"mid": self.id_str, "tick": self.tick, "seconds": round(seconds, 4),
                                          "tick_interval": round(interval, 4)}})

    def _sweep_markers(self) -> None:
        deadline = time.monotonic() - self._config.join_marker_deadline_ms / 1000
        expired = [presence for presence, marked in self._markers.values() if marked < deadline]
        if expired:
            for presence in expired:
                del self._markers[presence.session_id]
            self._queue_call(lambda: self._left(expired))

    async def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        self._deferred = 0
        for envelope, targets in outgoing:
            try:
                await self._host.send(envelope, targets)
            except Exception:
                log.warning("match broadcast not delivered", exc_info=True, extra={"fields": {"mid": self.id_str}})

    def _later(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        _background.add(task)
        task.add_done_callback(_background.discard)


_background: set[asyncio.Future[None]] = set()
