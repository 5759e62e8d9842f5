"""The composition root: every service of one server process, built and closed in order.

Handlers reach the services through ``request.app[STATE]``; the runtime's ``nk``
holds the same object. Nothing here holds a rule: it only wires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aiohttp import web

from nakama_py import __version__
from nakama_py.config import Config
from nakama_py.core.session_revocations import SessionRevocations
from nakama_py.core.sessions import SessionService
from nakama_py.db.listener import Listener
from nakama_py.db.pool import Database
from nakama_py.hooks import HookRunner, NoHooks
from nakama_py.metrics import Metrics

log = logging.getLogger("nakama_py.server")

MAINTENANCE_INTERVAL_SEC = 300.0


@dataclass
class ServerState:
    config: Config
    db: Database
    listener: Listener
    metrics: Metrics
    sessions: SessionService
    hooks: HookRunner = field(default_factory=NoHooks)
    version: str = __version__
    node: str = "nakama"
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.listener.stop()
        await self.db.close()

    def spawn(self, coro: object, name: str) -> None:
        """Run a background loop for the life of the process."""
        self._tasks.append(asyncio.create_task(coro, name=name))  # type: ignore[arg-type]


STATE = web.AppKey("state", ServerState)


def pool_size(config: Config) -> int:
    """Connections per process: the configured total shared by the worker processes."""
    return max(4, config.database.max_open_conns // max(config.workers, 1))


async def _maintenance(state: ServerState) -> None:
    while True:
        await asyncio.sleep(MAINTENANCE_INTERVAL_SEC)
        try:
            await state.sessions.revocations.prune()
        except Exception:
            log.exception("maintenance failed")


async def build_state(config: Config, conninfo: str, *, metrics: Metrics | None = None) -> ServerState:
    db = Database(conninfo, min_size=2, max_size=pool_size(config),
                  max_lifetime=config.database.conn_max_lifetime_ms / 1000, name=f"nakama-py/{config.name}")
    await db.open()
    listener = Listener(conninfo)
    revocations = SessionRevocations(db, config.session.refresh_token_expiry_sec)
    revocations.attach(listener)
    state = ServerState(
        config=config,
        db=db,
        listener=listener,
        metrics=metrics or Metrics(config.metrics.prefix, config.metrics.custom_prefix),
        sessions=SessionService(config.session, revocations),
        node=config.name,
    )
    try:
        await listener.start()
        state.spawn(_maintenance(state), "maintenance")
    except BaseException:
        await state.close()
        raise
    return state
