"""The composition root: every service of one server process, built and closed in order.

Handlers reach the services through ``request.app[STATE]``. The runtime's ``nk`` is
given the services it calls, one by one; loading the modules returns what they
registered (``LoadedRuntime``), and this module installs it: the hook runner, the
leaderboard reset handler, the background jobs. Nothing here holds a rule: it only wires.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass, field

from aiohttp import web

from nakama_py import __version__
from nakama_py.cluster.bus import ClusterBus, other_nodes_alive
from nakama_py.cluster.factory import make_bus
from nakama_py.cluster.leader_jobs import LeaderJob, LeaderJobs
from nakama_py.cluster.write_marks import WriteMarks
from nakama_py.config import Config
from nakama_py.core.accounts import AccountService
from nakama_py.core.leaderboards import LeaderboardService
from nakama_py.core.multi_update import MultiUpdater
from nakama_py.core.notifications import NotificationService
from nakama_py.core.session_revocations import SessionRevocations
from nakama_py.core.sessions import SessionService
from nakama_py.core.storage import StorageService
from nakama_py.core.wallet import WalletService
from nakama_py.db.address import session_conninfo, to_conninfo
from nakama_py.db.pool import Database
from nakama_py.db.replicas import ReplicaSet
from nakama_py.metrics import Metrics
from nakama_py.route_hooks import HookRunner, NoHooks
from nakama_py.runtime.context import RuntimeInfo
from nakama_py.runtime.nk import NakamaModule
from nakama_py.runtime.service import LoadedRuntime, load_runtime
from nakama_py.scheduler.leaderboard_resets import ResetScheduler

log = logging.getLogger("nakama_py.server")

MAINTENANCE_INTERVAL_SEC = 300.0
REPLICA_GAUGE_INTERVAL_SEC = 1.0
CLUSTER_GAUGE_INTERVAL_SEC = 1.0


@dataclass
class ServerState:
    config: Config
    db: Database
    bus: ClusterBus
    metrics: Metrics
    sessions: SessionService
    accounts: AccountService
    storage: StorageService
    wallets: WalletService
    notifications: NotificationService
    leaderboards: LeaderboardService
    replicas: ReplicaSet
    hooks: HookRunner = field(default_factory=NoHooks)
    runtime: LoadedRuntime = field(default_factory=LoadedRuntime)
    jobs: LeaderJobs | None = None  # the runtime's background jobs, when modules registered some
    version: str = __version__
    node: str = "nakama"
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        # First, while every service still works: runtime shutdown functions may use them.
        if self.jobs is not None:
            await self.jobs.stop()
        await self.runtime.shutdown(float(self.config.shutdown_grace_sec or 30))
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.leaderboards.close()  # sends the rank changes still pending to other processes
        await self.bus.stop()
        await self.replicas.close()
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


async def _replica_gauges(state: ServerState) -> None:
    while True:
        for replica in state.replicas.replicas:
            state.metrics.replica_seen(replica.name, replica.in_rotation, replica.lag_sec)
        await asyncio.sleep(REPLICA_GAUGE_INTERVAL_SEC)


async def _cluster_gauge(state: ServerState) -> None:
    while True:
        state.metrics.cluster_seen(len(state.bus.alive()))
        await asyncio.sleep(CLUSTER_GAUGE_INTERVAL_SEC)


async def install_runtime(state: ServerState) -> None:
    """Load the runtime modules and put what they registered in place."""
    config = state.config
    info = RuntimeInfo(config.runtime.env_map, state.node, state.version, config.socket.proxy_count)
    nk = NakamaModule(
        info=info, accounts=state.accounts, sessions=state.sessions, storage=state.storage, wallets=state.wallets,
        notifications=state.notifications, leaderboards=state.leaderboards,
        multi_updater=MultiUpdater(state.db, state.storage, state.wallets), sql=state.db, metrics=state.metrics)
    runtime = await load_runtime(config.runtime_path, nk, info, state.metrics, state.sessions,
                                 configured=bool(config.runtime.path))
    state.runtime = runtime
    if runtime.hooks is not None:
        state.hooks = runtime.hooks
    if runtime.handles_resets:
        state.leaderboards.on_reset(runtime.run_resets)
    if runtime.jobs:
        state.jobs = LeaderJobs(state.db.session_conninfo, [
            LeaderJob(entry.name, entry.interval, functools.partial(runtime.run_job, entry)) for entry in runtime.jobs])
        state.jobs.start()


async def build_state(config: Config, conninfo: str, *, metrics: Metrics | None = None,
                      marks: WriteMarks | None = None) -> ServerState:
    db = Database(conninfo, min_size=2, max_size=pool_size(config),
                  max_lifetime=config.database.conn_max_lifetime_ms / 1000, name=f"nakama-py/{config.name}",
                  pgbouncer=config.database.pgbouncer,
                  session_conninfo=session_conninfo(config.database.session_address, conninfo))
    await db.connect()
    replicas = ReplicaSet(db, [to_conninfo(a) for a in config.database.read_address],
                          max_lag_sec=config.database.read_max_lag_ms / 1000, pool_size=pool_size(config),
                          name=f"nakama-py/{config.name}/replica")
    bus = make_bus(config, db)  # NATS when cluster.nats_url is set, else PostgreSQL LISTEN/NOTIFY
    revocations = SessionRevocations(db, config.session.refresh_token_expiry_sec, bus)
    sessions = SessionService(config.session, revocations)
    leaderboards = LeaderboardService(db, config, bus=bus, marks=marks, replicas=replicas,
                                      other_nodes=lambda: other_nodes_alive(bus))
    state = ServerState(
        config=config,
        db=db,
        bus=bus,
        metrics=metrics or Metrics(config.metrics.prefix, config.metrics.custom_prefix),
        sessions=sessions,
        accounts=AccountService(db, sessions, config),
        storage=StorageService(db, config.session.encryption_key, replicas),
        wallets=WalletService(db),
        notifications=NotificationService(db),
        leaderboards=leaderboards,
        replicas=replicas,
        node=config.name,
    )
    state.accounts.after_delete(leaderboards.delete_owner_records)  # Nakama drops a deleted user's records
    try:
        await replicas.start()
        await bus.start()
        state.spawn(_maintenance(state), "maintenance")
        state.spawn(_cluster_gauge(state), "cluster-gauge")
        if replicas.replicas:
            state.spawn(_replica_gauges(state), "replica-gauges")
        await leaderboards.start()  # boards, and the current bucket of each warmed into ranks, in batches
        state.spawn(leaderboards.maintain(), "leaderboard-maintenance")
        state.spawn(ResetScheduler(db, leaderboards, workers=config.leaderboard.callback_queue_workers).run(),
                    "leaderboard-resets")
        # Last: runtime modules' init_module may call every other service.
        await install_runtime(state)
    except BaseException:
        await state.close()
        raise
    return state
