"""The cluster bus: how one process tells every other process (of this node and of other nodes).

Implementations: PostgreSQL LISTEN/NOTIFY (the default, needs nothing but the database) and NATS
(``cluster.nats_url``). Delivery is at-most-once and unordered across topics; a subscriber that
mirrors state registers a ``resync`` run after every (re)connection, since messages sent while it
was disconnected are lost. A process receives its own publications too, unless ``echo=False``.
Messages of one topic from one publisher arrive in the order they were published. A payload
may be any bytes of any size up to ``MAX_PAYLOAD_BYTES``.

Topics are names of 1 to 63 characters from ``[A-Za-z0-9_.-]`` (a PostgreSQL channel name and
a NATS subject alike).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

MAX_PAYLOAD_BYTES = 1 << 20
TOPIC_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,63}")

Handler = Callable[[bytes], None]
Resync = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A live process of the cluster: its node name (config ``name``) and a per-process id."""

    node: str
    process: str
    started_at: float


class BusUnavailable(ConnectionError):
    """A publication could not be handed over (the bus's connection is down): nothing was sent."""


def check_topic(topic: str) -> str:
    if not TOPIC_PATTERN.fullmatch(topic):
        raise ValueError(f"invalid bus topic {topic!r}: 1 to 63 characters of [A-Za-z0-9_.-]")
    return topic


def other_nodes_alive(bus: ClusterBus) -> bool:
    """Whether a process of another node (not a worker of this one) is alive."""
    return any(info.node != bus.node for info in bus.alive())


class ClusterBus(Protocol):
    @property
    def node(self) -> str:
        """This process's node name."""

    @property
    def process(self) -> str:
        """This process's id, unique in the cluster (node name plus a random suffix); a valid topic."""

    def subscribe(self, topic: str, handler: Handler, resync: Resync | None = None, *, echo: bool = True) -> None:
        """Call ``handler`` with each payload published on ``topic``; subscribe before ``start``."""

    async def publish(self, topic: str, payload: bytes) -> None:
        """Send ``payload`` to every subscriber of ``topic`` in the cluster (this process included);
        returns once it is handed over. Raises ``BusUnavailable`` when it cannot be."""

    def alive(self) -> list[NodeInfo]:
        """The processes seen alive within the membership bound, this one included."""

    async def start(self) -> None:
        """Connect, run every resync, join the membership; returns once subscriptions are live."""

    async def stop(self) -> None:
        """Leave the membership (peers drop this process without waiting for it to expire), close the connections."""


class WorkerMarks(Protocol):
    """Read-your-writes between the worker processes of one node (``socket.workers`` > 1;
    cluster/write_marks.py): a writer marks each change it publishes, a reader waits until it has
    applied the sibling changes marked for a user before answering that user."""

    index: int  # this worker's index among its siblings; sent along with its publications
    on_late: Callable[[], None] | None  # called when a sibling's change did not arrive in time

    def mark(self, owner: int | None) -> int:
        """Count one published change (of ``owner``'s record, when given); its sequence number."""

    def heads(self) -> list[int]:
        """Every sibling's latest sequence number, read before loading from the database."""

    def loaded(self, heads: Sequence[int]) -> None:
        """State was rebuilt from the database after ``heads`` were read."""

    def heard(self, worker: int, sequence: int) -> None:
        """A sibling's changes up to ``sequence`` are applied here."""

    async def caught_up(self, owner: int, bound: float) -> bool:
        """Wait until every sibling change of ``owner`` is applied here; False past ``bound`` seconds."""
