"""The event log: durable, replicated append-only logs consumed in batches by every node.

A shared leaf like ``cluster/bus.py`` (the interface only; cluster/jetstream_log.py is the NATS
JetStream implementation, used when ``cluster.nats_url`` is set). Unlike the bus it is
at-least-once and durable: an appended entry survives process, node and NATS restarts, and is
delivered to the log's consumer until a batch holding it is handled without error.

- ``append`` dedupes on ``msg_id`` within the log's duplicate window: a second append of the same
  id in that window stores nothing and says ``duplicate``.
- Every process that calls ``consume`` for a log pulls from the same durable consumer: each entry
  goes to one process at a time; a batch handled without error is acknowledged; a batch whose
  handler raises, or whose process dies, is delivered again (to any process) after ``ack_wait``.
  Handlers must therefore be idempotent (the racing module applies through receipts).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

LOG_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True, slots=True)
class LogEntry:
    msg_id: str
    data: bytes
    sequence: int           # the entry's position in its log (1, 2, ...)
    deliveries: int         # 1 on the first delivery, more on redeliveries
    appended_at: float      # unix seconds when the log stored it


@dataclass(frozen=True, slots=True)
class LogAppend:
    sequence: int
    duplicate: bool         # the msg_id was appended before (within the duplicate window): nothing stored


BatchHandler = Callable[[list[LogEntry]], Awaitable[None]]


class EventLogUnavailable(ConnectionError):
    """The log could not take or answer the request (no event log configured, or NATS unreachable)."""


def check_log_name(name: str) -> str:
    if not isinstance(name, str) or not LOG_NAME.fullmatch(name):
        raise ValueError(f"invalid event log name {name!r}: 1 to 32 characters of [A-Za-z0-9_-]")
    return name


class EventLog(Protocol):
    async def append(self, log: str, data: bytes, msg_id: str) -> LogAppend:
        """Store ``data`` at the end of ``log``; raises ``EventLogUnavailable`` when it cannot."""

    def consume(self, log: str, handler: BatchHandler, *, batch_size: int, max_wait: float) -> None:
        """Pull batches of up to ``batch_size`` entries (waiting at most ``max_wait`` s to fill one) and hand
        them to ``handler`` once ``start`` ran; call before ``start``."""

    async def wait_applied(self, log: str, timeout: float) -> bool:
        """Wait until every entry appended before this call has been handled; False on timeout."""

    async def backlog(self, log: str) -> int:
        """Entries appended and not yet handled (pending plus in flight)."""

    async def start(self) -> None:
        """Connect, create the logs and their consumers, start consuming."""

    async def stop(self) -> None:
        """Stop consuming (an unfinished batch is redelivered later), close the connection."""
