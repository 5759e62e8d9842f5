"""The cluster bus: how one process tells every other process (of this node and of other nodes).

Implementations: PostgreSQL LISTEN/NOTIFY (the default, needs nothing but the database) and NATS
(``cluster.nats_url``). Delivery is at-most-once and unordered across topics; a subscriber that
mirrors state registers a ``resync`` run after every (re)connection, since messages sent while it
was disconnected are lost. A process receives its own publications too, unless ``echo=False``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

Handler = Callable[[bytes], None]
Resync = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A live process of the cluster: its node name (config ``name``) and a per-process id."""

    node: str
    process: str
    started_at: float


class ClusterBus(Protocol):
    @property
    def node(self) -> str:
        """This process's node name."""

    @property
    def process(self) -> str:
        """This process's id, unique in the cluster (node name plus a random suffix)."""

    def subscribe(self, topic: str, handler: Handler, resync: Resync | None = None, *, echo: bool = True) -> None:
        """Call ``handler`` with each payload published on ``topic``; subscribe before ``start``."""

    async def publish(self, topic: str, payload: bytes) -> None:
        """Send ``payload`` to every subscriber of ``topic`` in the cluster (this process included)."""

    def alive(self) -> list[NodeInfo]:
        """The processes seen alive within the membership bound, this one included."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
