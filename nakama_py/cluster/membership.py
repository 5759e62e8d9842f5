"""Which processes of the cluster are alive, from heartbeats in ``nakama_py_cluster_node``.

Every process writes its row every ``HEARTBEAT_SEC`` and reads the others' rows; a process is
alive while its last heartbeat is younger than ``EXPIRY_SEC`` by the database's clock (so the
machines' clocks need not agree). The age of each row is carried forward on the local monotonic
clock between heartbeats, so a process killed without a word drops out of ``alive()`` at most
``EXPIRY_SEC`` after it died; one that stops cleanly deletes its row and drops out at the others'
next heartbeat. Ten seconds of expiry against three of heartbeat: a process survives two lost
heartbeats (a busy database, a slow event loop) before it is taken for dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from nakama_py.cluster.bus import NodeInfo
from nakama_py.cluster.tasks import cancel_and_wait
from nakama_py.db import cluster_bus as sql
from nakama_py.db.pool import Database

log = logging.getLogger("nakama_py.cluster")

HEARTBEAT_SEC = 3.0
EXPIRY_SEC = 10.0
MESSAGE_KEEP_SEC = 60.0  # spilled bus messages older than this are deleted (a receiver that late drops it)
DEAD_NODE_KEEP_SEC = 3600.0  # rows of dead processes are deleted after this (kept a while to show history)


class Membership:
    def __init__(self, db: Database, me: NodeInfo, *, heartbeat_sec: float = HEARTBEAT_SEC,
                 expiry_sec: float = EXPIRY_SEC, message_keep_sec: float = MESSAGE_KEEP_SEC) -> None:
        self.db = db
        self.me = me
        self.heartbeat_sec = heartbeat_sec
        self.expiry_sec = expiry_sec
        self.message_keep_sec = message_keep_sec
        self._others: list[tuple[NodeInfo, float]] = []  # each live peer, and when it goes stale (monotonic)
        self._task: asyncio.Task[None] | None = None

    def alive(self) -> list[NodeInfo]:
        now = time.monotonic()
        return [self.me, *(info for info, stale_at in self._others if stale_at > now)]

    async def beat(self) -> None:
        now = time.monotonic()
        rows = await sql.heartbeat(self.db, self.me.process, self.me.node, self.me.started_at, self.expiry_sec)
        self._others = [(NodeInfo(r.node, r.process, r.started_at), now + self.expiry_sec - r.age_sec) for r in rows]
        await sql.prune(self.db, self.message_keep_sec, DEAD_NODE_KEEP_SEC)

    async def start(self) -> None:
        await self.beat()
        self._task = asyncio.create_task(self._run(), name="cluster-heartbeat")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        with contextlib.suppress(Exception):
            await sql.leave(self.db, self.me.process)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_sec)
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cluster heartbeat failed", extra={"fields": {"error": str(exc)}})
