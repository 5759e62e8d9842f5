"""What the loaded runtime modules registered: RPCs, hooks, reset and shutdown
functions, background jobs. Filled by the initializer while modules load and
read by the RPC route, the hook runner and the runtime service afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nakama_py.runtime.logger import RuntimeLogger

# The function types module authors write (ctx, logger, nk first, as in Nakama).
RpcFunction = Callable[[Any, RuntimeLogger, Any, str], Awaitable[str | bytes | None]]
BeforeHook = Callable[[Any, RuntimeLogger, Any, dict[str, Any]], Awaitable[dict[str, Any] | None]]
AfterHook = Callable[[Any, RuntimeLogger, Any, Any, dict[str, Any]], Awaitable[None]]
ResetFunction = Callable[[Any, RuntimeLogger, Any, Any, int], Awaitable[None]]
TaskFunction = Callable[[Any, RuntimeLogger, Any], Awaitable[None]]
EventFunction = Callable[[Any, RuntimeLogger, Any, Any], Awaitable[None]]
TournamentFunction = Callable[[Any, RuntimeLogger, Any, Any, int, int], Awaitable[None]]
HttpFunction = Callable[[Any, RuntimeLogger, Any, Any], Awaitable[Any]]
MatchmakerMatchedFunction = Callable[[Any, RuntimeLogger, Any, Any], Awaitable[str | None]]

# The REST methods Nakama lets a before/after hook intercept (its gRPC method names).
_HOOKABLE = """
AddFriends AddGroupUsers SessionRefresh SessionLogout AuthenticateApple AuthenticateCustom AuthenticateDevice
AuthenticateEmail AuthenticateFacebook AuthenticateFacebookInstantGame AuthenticateGameCenter AuthenticateGoogle
AuthenticateSteam BanGroupUsers BlockFriends CreateGroup DeleteAccount DeleteFriends DeleteGroup
DeleteLeaderboardRecord DeleteNotifications DeleteTournamentRecord DeleteStorageObjects Event GetAccount GetUsers
GetSubscription GetMatchmakerStats ImportFacebookFriends ImportSteamFriends JoinGroup JoinTournament
KickGroupUsers LeaveGroup LinkApple LinkCustom LinkDevice LinkEmail LinkFacebook LinkFacebookInstantGame
LinkGameCenter LinkGoogle LinkSteam ListChannelMessages ListFriends ListFriendsOfFriends ListGroups
ListGroupUsers ListLeaderboardRecords ListLeaderboardRecordsAroundOwner ListMatches ListParties ListNotifications
ListStorageObjects ListSubscriptions ListTournaments ListTournamentRecords ListTournamentRecordsAroundOwner
ListUserGroups PromoteGroupUsers DemoteGroupUsers ReadStorageObjects UnlinkApple UnlinkCustom UnlinkDevice
UnlinkEmail UnlinkFacebook UnlinkFacebookInstantGame UnlinkGameCenter UnlinkGoogle UnlinkSteam UpdateAccount
UpdateGroup ValidatePurchaseApple ValidateSubscriptionApple ValidatePurchaseGoogle ValidateSubscriptionGoogle
ValidatePurchaseHuawei ValidatePurchaseFacebookInstant ValidatePurchaseSamsung WriteLeaderboardRecord
WriteStorageObjects WriteTournamentRecord
"""
HOOKABLE_METHODS = frozenset(name.lower() for name in _HOOKABLE.split())


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a registration was made, for error messages: ``file:line``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class RpcEntry:
    id: str                     # lower-cased, as clients' ids are matched
    fn: RpcFunction
    logger: RuntimeLogger       # built once: tagged with the module and the RPC id
    module: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class HookEntry:
    name: str                   # lower-cased Nakama method name
    fn: Any                     # BeforeHook or AfterHook
    logger: RuntimeLogger
    module: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class ResetEntry:
    fn: ResetFunction
    logger: RuntimeLogger
    module: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class TaskEntry:
    """A shutdown function, or a background job when ``interval`` is set."""

    name: str
    fn: TaskFunction
    logger: RuntimeLogger
    module: str
    origin: Origin
    interval: float = 0.0


@dataclass(frozen=True, slots=True)
class EventEntry:
    fn: EventFunction
    logger: RuntimeLogger
    module: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class TournamentEntry:
    fn: TournamentFunction  # (ctx, logger, nk, tournament, end, reset)
    logger: RuntimeLogger
    module: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class HttpRouteEntry:
    path: str                   # an aiohttp/gorilla pattern: ``/racing/standings/{cycle}``
    methods: tuple[str, ...]    # upper-case; empty: every method
    fn: HttpFunction            # (ctx, logger, nk, request: HttpRequest) -> HttpResponse
    logger: RuntimeLogger
    module: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class MatchmakerMatchedEntry:
    fn: MatchmakerMatchedFunction  # (ctx, logger, nk, entries) -> match id or None
    logger: RuntimeLogger
    module: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class LogConsumerEntry:
    log: str
    fn: Any                     # (ctx, logger, nk, batch: LogBatch) -> None
    logger: RuntimeLogger
    module: str
    origin: Origin
    batch_size: int
    max_wait: float             # seconds to wait for a batch to fill


@dataclass(frozen=True, slots=True)
class MatchEntry:
    name: str
    handler: Any                # an object with the match_* callbacks, or a class/factory making one per match
    logger: RuntimeLogger
    module: str
    origin: Origin


@dataclass
class Registry:
    rpcs: dict[str, RpcEntry] = field(default_factory=dict)
    before: dict[str, HookEntry] = field(default_factory=dict)
    after: dict[str, HookEntry] = field(default_factory=dict)
    resets: list[ResetEntry] = field(default_factory=list)
    shutdowns: list[TaskEntry] = field(default_factory=list)
    jobs: dict[str, TaskEntry] = field(default_factory=dict)
    events: list[EventEntry] = field(default_factory=list)
    tournament_ends: list[TournamentEntry] = field(default_factory=list)
    tournament_resets: list[TournamentEntry] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    rt_before: dict[str, HookEntry] = field(default_factory=dict)   # by envelope field: "channel_join"
    rt_after: dict[str, HookEntry] = field(default_factory=dict)
    session_start: list[HookEntry] = field(default_factory=list)
    session_end: list[HookEntry] = field(default_factory=list)
    http_routes: list[HttpRouteEntry] = field(default_factory=list)
    log_consumers: dict[str, LogConsumerEntry] = field(default_factory=dict)
    log_screens: dict[str, list[HookEntry]] = field(default_factory=dict)  # by log: screens, in registration order
    matchmaker_matched: MatchmakerMatchedEntry | None = None  # matchmaker (issue 15)
    matches: dict[str, MatchEntry] = field(default_factory=dict)  # match handlers by name
