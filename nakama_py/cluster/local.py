"""The bus of a process with no peers: publications go straight to this process's subscribers.

Correct only while one server process serves the database (``socket.workers`` 1, one node);
several processes use the PostgreSQL or NATS bus.
"""

from __future__ import annotations

import logging
import time
import uuid

from nakama_py.cluster.bus import Handler, NodeInfo, Resync

log = logging.getLogger("nakama_py.cluster")


class LocalBus:
    def __init__(self, node: str) -> None:
        self._node = node
        self._process = f"{node}-{uuid.uuid4().hex[:8]}"
        self._started_at = time.time()
        self._handlers: dict[str, list[Handler]] = {}
        self._resyncs: list[Resync] = []

    @property
    def node(self) -> str:
        return self._node

    @property
    def process(self) -> str:
        return self._process

    def subscribe(self, topic: str, handler: Handler, resync: Resync | None = None, *, echo: bool = True) -> None:
        if echo:  # nobody else publishes here
            self._handlers.setdefault(topic, []).append(handler)
        if resync is not None:
            self._resyncs.append(resync)

    async def publish(self, topic: str, payload: bytes) -> None:
        for handler in self._handlers.get(topic, ()):
            try:
                handler(payload)
            except Exception:
                log.exception("bus handler failed", extra={"fields": {"topic": topic}})

    def alive(self) -> list[NodeInfo]:
        return [NodeInfo(self._node, self._process, self._started_at)]

    async def start(self) -> None:
        for resync in self._resyncs:
            await resync()

    async def stop(self) -> None:
        self._handlers.clear()
