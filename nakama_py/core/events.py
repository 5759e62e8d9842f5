"""Events (``POST /v2/event``, ``nk.event``) handed to the runtime's event handlers off the request path.

Events wait in one bounded queue per process (``runtime.event_queue_size``) and run on
``runtime.event_queue_workers`` tasks. A full queue drops the event with a warning, as
Nakama does: the client's request never waits for module code. With no handler
registered, events are accepted and dropped at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from nakama_py.core.tokens import SessionClaims

log = logging.getLogger("nakama_py.events")


@dataclass(frozen=True, slots=True)
class Event:
    """Nakama's api.Event, and who sent it (None: the server itself)."""

    name: str
    properties: Mapping[str, str] = field(default_factory=dict)
    timestamp: datetime | None = None
    external: bool = False
    sender: SessionClaims | None = None


EventHandler = Callable[[Event], Awaitable[None]]


class EventQueue:
    def __init__(self, size: int, workers: int) -> None:
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=max(size, 1))
        self._workers = max(workers, 1)
        self._handler: EventHandler | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def set_handler(self, handler: EventHandler) -> None:
        self._handler = handler

    @property
    def has_handler(self) -> bool:
        return self._handler is not None

    def submit(self, event: Event) -> bool:
        """Queue the event for the handler; False when it was dropped (no handler, or the queue is full)."""
        if self._handler is None:
            return False
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("event queue full, event dropped", extra={"fields": {"event": event.name}})
            return False
        return True

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"events-{index}") for index in range(self._workers)]

    async def stop(self, timeout: float) -> None:
        """Run the queued events (for at most ``timeout`` seconds), then stop the workers."""
        if self._tasks and self._handler is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                if self._handler is not None:
                    await self._handler(event)
            except Exception:
                log.exception("event handler failed", extra={"fields": {"event": event.name}})
            finally:
                self._queue.task_done()
