"""The composition root: every service of one server process, built and closed in order.

Handlers reach the services through ``request.app[STATE]``. The runtime's ``nk`` is
given the services it calls, one by one; loading the modules returns what they
registered (``LoadedRuntime``), and this module installs it: the hook runner, the
leaderboard reset handler, the background jobs. Nothing here holds a rule: it only wires.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field

from aiohttp import web

from nakama_py import __version__
from nakama_py.cluster.bus import ClusterBus, other_nodes_alive
from nakama_py.cluster.event_log import EventLog
from nakama_py.cluster.factory import make_bus
from nakama_py.cluster.leader_jobs import LeaderJob, LeaderJobs
from nakama_py.cluster.tasks import cancel_and_wait
from nakama_py.cluster.write_marks import WriteMarks
from nakama_py.config import Config
from nakama_py.core.accounts import AccountService
from nakama_py.core.channels import ChannelService
from nakama_py.core.disconnects import Disconnects
from nakama_py.core.events import EventQueue
from nakama_py.core.friends import FriendService
from nakama_py.core.groups import GroupService
from nakama_py.core.leaderboards import LeaderboardService
from nakama_py.core.matches.listing import MatchListings
from nakama_py.core.matches.registry import MatchRegistry
from nakama_py.core.matches.service import MatchService
from nakama_py.core.matchmaker import MatchmakerService
from nakama_py.core.multi_update import MultiUpdater
from nakama_py.core.notifications import NotificationService
from nakama_py.core.online import OnlineUsers
from nakama_py.core.parties import PartyService
from nakama_py.core.router import Router
from nakama_py.core.session_revocations import SessionRevocations
from nakama_py.core.sessions import SessionService
from nakama_py.core.status import StatusFollows, StatusService
from nakama_py.core.storage import StorageService
from nakama_py.core.streams import StreamService
from nakama_py.core.tournaments import TournamentService
from nakama_py.core.tracker import Tracker
from nakama_py.core.wallet import WalletService
from nakama_py.db.address import session_conninfo, to_conninfo
from nakama_py.db.pool import Database
from nakama_py.db.replicas import ReplicaSet
from nakama_py.metrics import Metrics
from nakama_py.realtime.handlers_channel import ChannelHandlers
from nakama_py.realtime.handlers_match import MatchHandlers
from nakama_py.realtime.handlers_matchmaker import MatchmakerHandlers
from nakama_py.realtime.handlers_party import PartyHandlers
from nakama_py.realtime.handlers_rpc import RpcHandler
from nakama_py.realtime.handlers_status import StatusHandlers
from nakama_py.realtime.pipeline import Pipeline
from nakama_py.realtime.registry import SessionRegistry
from nakama_py.realtime.service import Realtime
from nakama_py.realtime.session import SocketSession
from nakama_py.route_hooks import HookRunner, NoHooks
from nakama_py.runtime.context import RuntimeInfo
from nakama_py.runtime.loader import RuntimeLoadError
from nakama_py.runtime.match_handlers import MatchFactories
from nakama_py.runtime.nk import NakamaModule
from nakama_py.runtime.rt_hooks import RuntimeRtHooks
from nakama_py.runtime.service import LoadedRuntime, load_runtime
from nakama_py.scheduler.leaderboard_resets import ResetScheduler
from nakama_py.scheduler.tournament_hooks import TournamentScheduler

log = logging.getLogger("nakama_py.server")

MAINTENANCE_INTERVAL_SEC = 300.0
REPLICA_GAUGE_INTERVAL_SEC = 1.0
CLUSTER_GAUGE_INTERVAL_SEC = 1.0
MATCHMAKER_JOB = "nakama-py:matchmaker"  # the leader job name (a module's job names are its own)


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
    streams: StreamService
    channels: ChannelService
    realtime: Realtime
    online: OnlineUsers
    friends: FriendService
    groups: GroupService
    events: EventQueue
    tournaments: TournamentService
    replicas: ReplicaSet
    disconnects: Disconnects  # server-side socket closes (ban, the runtime's session_disconnect)
    parties: PartyService  # issue 15: parties live on their creator's process
    matchmaker: MatchmakerService  # multiplayer (issue 15)
    matches: MatchService     # issue 15: relayed and authoritative matches (core/matches)
    match_listings: MatchListings
    hooks: HookRunner = field(default_factory=NoHooks)
    runtime: LoadedRuntime = field(default_factory=LoadedRuntime)
    jobs: LeaderJobs | None = None  # single-process jobs: the matchmaker's intervals and the runtime's jobs
    event_log: EventLog | None = None  # tier 4: durable logs on NATS JetStream, with cluster.nats_url
    version: str = __version__
    node: str = "nakama"
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        # First, while every service still works: runtime shutdown functions may use them.
        await self.events.stop(float(self.config.shutdown_grace_sec or 30))  # social (issue 16)
        if self.event_log is not None:  # tier 4: no batch starts once shutdown began (unfinished ones are redelivered)
            await self.event_log.stop()
        # Matches first, as Nakama: match_terminate with the grace period, then what still runs is stopped.
        await self.matches.registry.stop(self.config.shutdown_grace_sec)
        if self.jobs is not None:
            await self.jobs.stop()
        self.matchmaker.stop()
        await self.runtime.shutdown(float(self.config.shutdown_grace_sec or 30))
        await cancel_and_wait(*self._tasks)
        await self.leaderboards.close()  # sends the rank changes still pending to other processes
        await self.bus.stop()
        await self.replicas.close()
        await self.db.close()
        self.metrics.unwatch_gc()
        self.metrics.flush()  # the last requests' counts, before a worker's values are collected

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
    counted = (0, 0, 0)
    while True:
        state.metrics.cluster_seen(len(state.bus.alive()))
        sync = state.leaderboards.node_sync
        if sync is not None:  # counted here, off the request path
            state.metrics.own_reads(sync.at_once - counted[0], sync.proven - counted[1], sync.fallbacks - counted[2])
            counted = (sync.at_once, sync.proven, sync.fallbacks)
        await asyncio.sleep(CLUSTER_GAUGE_INTERVAL_SEC)


def install_socket_hooks(realtime: Realtime, rt_hooks: RuntimeRtHooks) -> None:
    """Modules' socket-message hooks into the pipeline, their session events around each socket."""
    realtime.pipeline.hooks = rt_hooks

    async def started(session: SocketSession) -> None:
        await rt_hooks.session_event(session, True)

    async def ended(session: SocketSession) -> None:
        await rt_hooks.session_event(session, False, session.close_reason)

    realtime.on_open(started)
    realtime.on_close(ended)


async def install_runtime(state: ServerState) -> None:
    """Load the runtime modules and put what they registered in place."""
    config = state.config
    info = RuntimeInfo(config.runtime.env_map, state.node, state.version, config.socket.proxy_count)
    nk = NakamaModule(
        info=info, accounts=state.accounts, sessions=state.sessions, storage=state.storage, wallets=state.wallets,
        notifications=state.notifications, leaderboards=state.leaderboards, streams=state.streams,
        multi_updater=MultiUpdater(state.db, state.storage, state.wallets, state.notifications), sql=state.db,
        metrics=state.metrics, friends=state.friends, groups=state.groups, tournaments=state.tournaments,
        events=state.events, channels=state.channels, disconnects=state.disconnects,
        match_registry=state.matches.registry, match_listings=state.match_listings, parties=state.parties,
        event_log=state.event_log)
    runtime = await load_runtime(config.runtime_path, nk, info, state.metrics, state.sessions,
                                 configured=bool(config.runtime.path))
    state.runtime = runtime
    if runtime.registry.matches:
        state.matches.registry.factory = MatchFactories(
            {name: (entry.handler, entry.logger) for name, entry in runtime.registry.matches.items()}, info, nk)
    if runtime.hooks is not None:
        state.hooks = runtime.hooks
    if runtime.rt_hooks is not None:
        install_socket_hooks(state.realtime, runtime.rt_hooks)
    if runtime.handles_resets:
        state.leaderboards.on_reset(runtime.run_resets)
    if runtime.handles_events:
        state.events.set_handler(runtime.run_event)
    if runtime.handles_tournament_ends:
        state.tournaments.end_hook = runtime.run_tournament_end
    if runtime.handles_tournament_resets:
        state.tournaments.reset_hook = runtime.run_tournament_reset
    if state.event_log is not None:  # tier 4: every process consumes the modules' logs (one durable consumer each)
        for consumer in runtime.log_consumers:
            state.event_log.consume(consumer.log, functools.partial(runtime.run_log_batch, consumer),
                                    batch_size=consumer.batch_size, max_wait=consumer.max_wait)
        await state.event_log.start()
    elif runtime.log_consumers:
        first = runtime.log_consumers[0]
        raise RuntimeLoadError(first.origin.file, first.origin.line,
                               f"register_event_log_consumer({first.log!r}): the event log needs cluster.nats_url "
                               "(NATS JetStream)")
    if runtime.handles_matchmaker_matched:
        state.matchmaker.matched_hook = runtime.run_matchmaker_matched
    # One dedicated connection holds every single-process job: the matchmaker's and the modules'.
    matchmaker = LeaderJob(MATCHMAKER_JOB, float(config.matchmaker.interval_sec), state.matchmaker.lead)
    state.jobs = LeaderJobs(state.db.session_conninfo, [matchmaker, *(
        LeaderJob(entry.name, entry.interval, functools.partial(runtime.run_job, entry)) for entry in runtime.jobs)])
    state.jobs.start()


def _event_log(config: Config, bus: ClusterBus) -> EventLog | None:
    """The durable event logs (NATS JetStream) with cluster.nats_url; the NATS client is imported only then
    (about 1.5 MB of a process's memory otherwise)."""
    if not config.cluster.nats_url:
        return None
    from nakama_py.cluster.jetstream_log import JetStreamLog

    return JetStreamLog(config.cluster.nats_url, bus.process, prefix=config.cluster.nats_prefix)


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
                                      other_nodes=lambda: other_nodes_alive(bus),
                                      sync_over_bus=bool(config.cluster.nats_url))
    sockets = SessionRegistry()
    tracker = Tracker(bus)
    router = Router(bus, tracker, sockets)
    online = OnlineUsers()
    online.install(tracker)  # online: a live socket anywhere in the cluster (the tracker's replica)
    accounts = AccountService(db, sessions, config, online=online, bus=bus)
    follows = StatusFollows()
    status = StatusService(accounts, tracker, follows)
    notifications = NotificationService(db, router)
    friends = FriendService(db, accounts, notifications, config.social)
    groups = GroupService(db, notifications, online)
    channels = ChannelService(db, tracker, router, accounts, notifications, groups)
    channels.direct_messages = friends  # a DM to someone who blocks the sender is refused
    events = EventQueue(config.runtime.event_queue_size, config.runtime.event_queue_workers)
    tournaments = TournamentService(db, leaderboards)
    parties = PartyService(bus, tracker, router, config.party, single_party=config.session.single_party)
    matchmaker = MatchmakerService(config.matchmaker, bus, router, token_key=config.session.encryption_key)
    parties.matchmaker = matchmaker  # party tickets (party_matchmaker_add)
    state_metrics = metrics or Metrics(config.metrics.prefix, config.metrics.custom_prefix)
    match_registry = MatchRegistry(config.match, bus, tracker, router, on_tick_late=state_metrics.match_tick_late,
                                   on_count=state_metrics.match_count)
    matches = MatchService(match_registry, tracker, router, config.session.encryption_key,
                           single_match=config.session.single_match)
    # The RPC handler reads state.runtime at call time: the modules load last, once everything exists.
    rpc = RpcHandler(lambda: state.runtime, leaderboards.answer_hold())
    pipeline = Pipeline({"rpc": rpc.rpc, **StatusHandlers(status).handlers(),
                         **ChannelHandlers(channels).handlers(), **MatchHandlers(matches).handlers(),
                         **PartyHandlers(parties).handlers(),
                         **MatchmakerHandlers(matchmaker, config.name).handlers()})
    state = ServerState(
        config=config,
        db=db,
        bus=bus,
        metrics=state_metrics,
        sessions=sessions,
        accounts=accounts,
        storage=StorageService(db, config.session.encryption_key, replicas),
        wallets=WalletService(db),
        notifications=notifications,
        channels=channels,
        leaderboards=leaderboards,
        streams=StreamService(tracker, router),
        realtime=Realtime(config.session, sockets, tracker, router, pipeline, follows),
        online=online,
        friends=friends,
        groups=groups,
        events=events,
        tournaments=tournaments,
        replicas=replicas,
        disconnects=Disconnects(tracker, router),
        parties=parties,
        matchmaker=matchmaker,
        matches=matches,
        match_listings=MatchListings(match_registry.index, tracker),
        node=config.name,
        event_log=_event_log(config, bus),
    )
    state.accounts.after_ban(state.disconnects.disconnect_banned)  # a banned user's sockets close, on any process
    state.accounts.after_delete(leaderboards.delete_owner_records)  # Nakama drops a deleted user's records
    state.realtime.on_close(lambda session: matchmaker.remove_all_session(session.id))  # as Nakama's session end
    # social (issue 16): a deleted user leaves their groups (friendships go by the tables' cascade, as in Nakama)
    state.accounts.on_delete(groups.forget_user)
    try:
        await replicas.start()
        await bus.start()
        state.spawn(tracker.sweep(), "presence-sweep")
        state.spawn(parties.run(), "party-outbox")
        state.spawn(parties.sweep(), "party-sweep")
        state.spawn(match_registry.index.run(), "match-index")
        state.spawn(match_registry.sweep(), "match-sweep")
        state.spawn(_maintenance(state), "maintenance")
        state.spawn(_cluster_gauge(state), "cluster-gauge")
        state.spawn(matchmaker.sweep(), "matchmaker-sweep")
        if replicas.replicas:
            state.spawn(_replica_gauges(state), "replica-gauges")
        await leaderboards.start()  # boards; the current bucket of each ranked one warms in the background
        state.spawn(leaderboards.maintain(), "leaderboard-maintenance")
        state.metrics.watch_gc()  # perf (issue 19): what the tails are made of
        state.spawn(ResetScheduler(db, leaderboards, workers=config.leaderboard.callback_queue_workers).run(),
                    "leaderboard-resets")
        # social (issue 16): tournament end/reset hooks, one claim per moment across processes
        state.spawn(TournamentScheduler(db, leaderboards, tournaments,
                                        workers=config.leaderboard.callback_queue_workers).run(), "tournament-hooks")
        # Last: runtime modules' init_module may call every other service.
        await install_runtime(state)
        events.start()  # social (issue 16): after the runtime installed its event handlers
    except BaseException:
        await state.close()
        raise
    return state
