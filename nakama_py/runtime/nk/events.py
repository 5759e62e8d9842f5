"""``nk.event``: events for the modules' event functions (``register_event``), run off the caller's path."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from nakama_py.core.events import Event, EventQueue


class EventCalls:
    _events: EventQueue

    def event(self, name: str, properties: Mapping[str, str] | None = None, timestamp: float | None = None,
              external: bool = False) -> bool:
        """Queue an event for the event functions (as the server, no user); False when it was dropped."""
        when = datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else datetime.now(UTC)
        return self._events.submit(Event(name, dict(properties or {}), when, external))
