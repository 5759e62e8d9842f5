"""``nk``: what runtime modules call. Every function goes through the same core
services as the REST routes, as the runtime (no caller: permission and
authoritative checks are bypassed, like Nakama's runtime).

``NakamaModule`` is composed of one class per feature (this package's modules), and
given, one by one, the services those use: it never sees the server state.
Functions that touch the database or may wait for other processes are ``async``
(their coroutines are watched: runtime/call_scope.py); pure helpers (``uuid_v4``,
``time``, ``cron_next``, the local cache, metrics, JSON) are plain functions.
Errors are ``NakamaError`` with Nakama's messages; raised out of an RPC they reach
the client with their code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nakama_py.cluster.event_log import EventLog
from nakama_py.core.accounts import AccountService
from nakama_py.core.channels import ChannelService
from nakama_py.core.disconnects import Disconnects
from nakama_py.core.events import EventQueue
from nakama_py.core.friends import FriendService
from nakama_py.core.groups import GroupService
from nakama_py.core.leaderboards import LeaderboardService
from nakama_py.core.matches.listing import MatchListings
from nakama_py.core.matches.registry import MatchRegistry
from nakama_py.core.multi_update import MultiUpdater
from nakama_py.core.notifications import NotificationService
from nakama_py.core.parties import PartyService
from nakama_py.core.sessions import SessionService
from nakama_py.core.storage import StorageService
from nakama_py.core.streams import StreamService
from nakama_py.core.tournaments import TournamentService
from nakama_py.core.wallet import WalletService
from nakama_py.metrics import Metrics
from nakama_py.runtime.call_scope import tracked
from nakama_py.runtime.context import RUN_ONCE, Context, RuntimeInfo
from nakama_py.runtime.localcache import LocalCache
from nakama_py.runtime.logger import RuntimeLogger
from nakama_py.runtime.nk.accounts import AccountCalls
from nakama_py.runtime.nk.channels import ChannelCalls
from nakama_py.runtime.nk.event_log import EventLogCalls
from nakama_py.runtime.nk.events import EventCalls
from nakama_py.runtime.nk.friends import FriendCalls
from nakama_py.runtime.nk.groups import GroupCalls
from nakama_py.runtime.nk.http import HttpCalls
from nakama_py.runtime.nk.leaderboards import LeaderboardCalls
from nakama_py.runtime.nk.matches import MatchCalls
from nakama_py.runtime.nk.notifications import NotificationCalls
from nakama_py.runtime.nk.parties import PartyCalls
from nakama_py.runtime.nk.sessions import SessionCalls
from nakama_py.runtime.nk.sql import SqlCalls, SqlDatabase
from nakama_py.runtime.nk.storage import StorageCalls
from nakama_py.runtime.nk.streams import StreamCalls
from nakama_py.runtime.nk.tournaments import TournamentCalls
from nakama_py.runtime.nk.utilities import UtilityCalls
from nakama_py.runtime.nk.wallets import WalletCalls


class NakamaModule(LeaderboardCalls, StorageCalls, AccountCalls, WalletCalls, NotificationCalls, StreamCalls,
                   SqlCalls, UtilityCalls, FriendCalls, GroupCalls, TournamentCalls, EventCalls, ChannelCalls,
                   SessionCalls, MatchCalls, PartyCalls, EventLogCalls, HttpCalls):
    """The ``nk`` object. One per server process, shared by every module and call."""

    def __init__(self, *, info: RuntimeInfo, accounts: AccountService, sessions: SessionService,
                 storage: StorageService, wallets: WalletService, notifications: NotificationService,
                 leaderboards: LeaderboardService, multi_updater: MultiUpdater, sql: SqlDatabase,
                 metrics: Metrics, streams: StreamService, friends: FriendService, groups: GroupService,
                 tournaments: TournamentService, events: EventQueue, channels: ChannelService,
                 disconnects: Disconnects, match_registry: MatchRegistry, match_listings: MatchListings,
                 parties: PartyService, event_log: EventLog | None = None) -> None:
        self._info = info
        self._accounts = accounts
        self._sessions = sessions
        self._storage = storage
        self._wallets = wallets
        self._notifications = notifications
        self._leaderboards = leaderboards
        self._multi_updater = multi_updater
        self._streams = streams
        self._sql = sql
        self._metrics = metrics
        self._friends = friends
        self._groups = groups
        self._tournaments = tournaments
        self._events = events
        self._channels = channels
        self._disconnects = disconnects
        self._event_log = event_log  # None without cluster.nats_url
        self._match_registry = match_registry
        self._match_listings = match_listings
        self._parties = parties
        self._cache = LocalCache()
        self._ran_once: set[str] = set()

    @tracked
    async def run_once(self, fn: Callable[[Context, RuntimeLogger, NakamaModule], Awaitable[None]]) -> None:
        """Run ``async def fn(ctx, logger, nk)`` the first time this is called for it in this process."""
        key = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"
        if key in self._ran_once:
            return
        self._ran_once.add(key)
        logger = RuntimeLogger({"module": getattr(fn, "__module__", ""), "run_once": key})
        await fn(Context(self._info, RUN_ONCE), logger, self)
