"""``nk``: what runtime modules call. Every function goes through the same core
services as the REST routes, as the runtime (no caller: permission and
authoritative checks are bypassed, like Nakama's runtime).

Functions that touch the database are ``async``; pure helpers (``uuid_v4``,
``time``, ``cron_next``, the local cache, metrics, JSON) are plain functions.
Errors are ``NakamaError`` with Nakama's messages; raised out of an RPC they reach
the client with their code.
"""

from __future__ import annotations

import math
import time as _time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from nakama_py.core.accounts import AccountService
from nakama_py.core.leaderboard_schedule import InvalidSchedule, parse_schedule
from nakama_py.core.leaderboards import BucketNotLoaded, LeaderboardService
from nakama_py.core.multi_update import MultiUpdater
from nakama_py.core.notifications import NotificationService
from nakama_py.core.sessions import SessionService
from nakama_py.core.storage import StorageService
from nakama_py.core.wallet import WalletService
from nakama_py.errors import invalid_argument, not_found
from nakama_py.runtime import type_conversions as to_public
from nakama_py.runtime.call_scope import CURRENT, tracked
from nakama_py.runtime.context import RUN_ONCE, Context, RuntimeInfo
from nakama_py.runtime.localcache import LocalCache
from nakama_py.runtime.logger import RuntimeLogger
from nakama_py.runtime.types import (
    MultiUpdateResult,
    Notification,
    NotificationSend,
    StorageAck,
    StorageObject,
    StorageObjectId,
    StorageWrite,
    WalletLedgerItem,
    WalletUpdate,
    WalletUpdateResult,
)

if TYPE_CHECKING:
    from nakama_py.metrics import Metrics
    from nakama_py.runtime.types import (
        Account,
        AuthResult,
        Leaderboard,
        LeaderboardRecord,
        RankEntry,
        RecordList,
        TopList,
        User,
        WriteReceipt,
    )

# Nakama's override operator names (Lua/JS) to the API enum the core takes.
OVERRIDE_OPERATORS = {"": 0, "no_override": 0, "best": 1, "set": 2, "incr": 3, "increment": 3,
                      "decr": 4, "decrement": 4}

StorageWriteLike = StorageWrite | Mapping[str, Any]
StorageIdLike = StorageObjectId | Mapping[str, Any]
WalletUpdateLike = WalletUpdate | Mapping[str, Any]
NotificationLike = NotificationSend | Mapping[str, Any]


def _override(value: int | str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        try:
            return OVERRIDE_OPERATORS[value.strip().lower()]
        except KeyError:
            raise invalid_argument(f"invalid override operator {value!r}: use best, set, incr or decr") from None
    return int(value)


def _json_text(value: Any) -> str:
    """Storage values may be given as JSON text or as a mapping to encode."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _storage_write(item: StorageWriteLike) -> StorageWrite:
    if isinstance(item, StorageWrite):
        return item
    fields = dict(item)
    fields["value"] = _json_text(fields.get("value", ""))
    return StorageWrite(**fields)


def _storage_id(item: StorageIdLike) -> StorageObjectId:
    return item if isinstance(item, StorageObjectId) else StorageObjectId(**item)


def _wallet_update(item: WalletUpdateLike) -> WalletUpdate:
    if isinstance(item, WalletUpdate):
        return item
    return WalletUpdate(item["user_id"], item.get("changeset", {}), item.get("metadata") or {})


def _notification(item: NotificationLike) -> NotificationSend:
    return item if isinstance(item, NotificationSend) else NotificationSend(**item)


class SqlDatabase(Protocol):
    """What ``sql_query``/``sql_exec`` run statements on (the server's connection pool)."""

    async def fetch_dicts(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None,
                          ) -> list[dict[str, Any]]: ...

    async def execute(self, query: str, params: Sequence[Any] | dict[str, Any] | None = None) -> int: ...


def _params(params: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
    if isinstance(params, (str, bytes)):
        raise invalid_argument("sql parameters must be a sequence or a mapping of values, not a string")
    return dict(params) if isinstance(params, Mapping) else params


class NakamaModule:
    """The ``nk`` object. One per server process, shared by every module and call."""

    def __init__(self, *, info: RuntimeInfo, accounts: AccountService, sessions: SessionService,
                 storage: StorageService, wallets: WalletService, notifications: NotificationService,
                 leaderboards: LeaderboardService, multi_updater: MultiUpdater, sql: SqlDatabase,
                 metrics: Metrics) -> None:
        self._info = info
        self._accounts = accounts
        self._sessions = sessions
        self._storage = storage
        self._wallets = wallets
        self._notifications = notifications
        self._leaderboards = leaderboards
        self._multi_updater = multi_updater
        self._sql = sql
        self._metrics = metrics
        self._cache = LocalCache()
        self._ran_once: set[str] = set()

    # --- leaderboards -------------------------------------------------------------

    # Read-your-writes: the leaderboard reads below first wait until this process has applied
    # the latest leaderboard writes of the call's session user, whichever worker process took
    # them (core/write_marks.py). Once per call, and only when behind; calls without a session
    # user, and RPCs that read no leaderboard, never wait.

    @tracked
    async def leaderboard_create(self, id: str, authoritative: bool = False, sort_order: str | int = "desc",
                                 operator: str | int = "best", reset_schedule: str | None = None,
                                 metadata: Mapping[str, Any] | None = None, enable_ranks: bool = True,
                                 ) -> Leaderboard:
        """Create a leaderboard, or return the existing one with that id (idempotent)."""
        return to_public.leaderboard(await self._leaderboards.create(
            id, authoritative=authoritative, sort_order=sort_order, operator=operator,
            reset_schedule=reset_schedule or None, metadata=dict(metadata or {}), enable_ranks=enable_ranks))

    @tracked
    async def leaderboard_delete(self, id: str) -> None:
        await self._leaderboards.delete(id)

    @tracked
    async def leaderboard_list(self, limit: int = 10, cursor: str | None = None,
                               ) -> tuple[list[Leaderboard], str | None]:
        boards, next_cursor = await self._leaderboards.list_boards(limit, cursor or None)
        return [to_public.leaderboard(board) for board in boards], next_cursor

    @tracked
    async def leaderboards_get_id(self, ids: Sequence[str]) -> list[Leaderboard]:
        return [to_public.leaderboard(board) for board in await self._leaderboards.get(list(ids))]

    @tracked
    async def leaderboard_record_write(self, id: str, owner_id: str, username: str | None = None, score: int = 0,
                                       subscore: int = 0, metadata: Mapping[str, Any] | None = None,
                                       override_operator: int | str | None = None) -> LeaderboardRecord:
        """Write a score, bypassing the authoritative check. ``override_operator``: best/set/incr/decr."""
        return await self._leaderboards.write_record(
            id, owner_id, username=username or None, score=score, subscore=subscore,
            metadata=dict(metadata) if metadata is not None else None,
            override_operator=_override(override_operator), caller=None)

    @tracked
    async def leaderboard_records_list(self, id: str, owner_ids: Sequence[str] | None = None, limit: int = 100,
                                       cursor: str | None = None, expiry: int | None = None) -> RecordList:
        """A page of records (limit 0-10000; 0 returns only the owners' records) of the current
        period, or of the period that ends at ``expiry`` (unix seconds)."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (above)
            scope.catch_up_for = None
        return await self._leaderboards.list_records(
            id, owner_ids=list(owner_ids) if owner_ids is not None else None, limit=limit, cursor=cursor or None,
            expiry=expiry or 0, caller=None)

    @tracked
    async def leaderboard_records_haystack(self, id: str, owner_id: str, limit: int = 10, cursor: str | None = None,
                                           expiry: int | None = None) -> RecordList:
        """The records around ``owner_id``."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (above)
            scope.catch_up_for = None
        return await self._leaderboards.haystack(id, owner_id, limit=limit, cursor=cursor or None,
                                                       expiry=expiry or 0)

    @tracked
    async def leaderboard_record_delete(self, id: str, owner_id: str) -> None:
        await self._leaderboards.delete_record(id, owner_id, caller=None)

    @tracked
    async def leaderboard_record_write_once(self, id: str, owner_id: str, key: str, *, score: int,
                                            subscore: int = 0, username: str | None = None,
                                            metadata: Mapping[str, Any] | None = None, ttl_seconds: int = 3600,
                                            rate_limit: tuple[int, int] | None = None) -> WriteReceipt:
        """An idempotent write: the first call with ``(id, owner_id, key)`` writes; later calls within
        ``ttl_seconds`` return its receipt (``replayed=True``). ``rate_limit=(n, window_seconds)``
        caps accepted writes per owner and raises ``RateLimitedError`` beyond it."""
        return await self._leaderboards.write_record_once(
            id, owner_id, key, score=score, subscore=subscore, username=username or None,
            metadata=dict(metadata) if metadata is not None else None, ttl_seconds=ttl_seconds,
            rate_limit=rate_limit)

    @tracked
    async def leaderboard_top(self, id: str, limit: int, expiry: int = 0) -> TopList:
        """The best ``limit`` entries of the current period, or of the period that ends at ``expiry``
        (unix seconds), from memory: no database round trip once the period's ranks are loaded
        (the current period's always are; a past one is read on first use)."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (above)
            scope.catch_up_for = None
        try:
            return self._leaderboards.top(id, limit, expiry)
        except BucketNotLoaded:  # a past period: read it into memory once, then answer from there
            await self._leaderboards.load_bucket(id, expiry)
            return self._leaderboards.top(id, limit, expiry)

    @tracked
    async def leaderboard_rank(self, id: str, owner_id: str, expiry: int = 0) -> RankEntry | None:
        """An owner's rank, score and subscore in a period, from memory like ``leaderboard_top``;
        None when the owner has no record there."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (above)
            scope.catch_up_for = None
        try:
            return self._leaderboards.rank_of(id, owner_id, expiry)
        except BucketNotLoaded:
            await self._leaderboards.load_bucket(id, expiry)
            return self._leaderboards.rank_of(id, owner_id, expiry)

    @tracked
    async def leaderboard_ranks_load(self, id: str, expiry: int = 0) -> int:
        """Read the ranks of the period that ends at ``expiry`` into memory now (``leaderboard_top``
        and ``leaderboard_rank`` would on first use); the number of records in that period."""
        return await self._leaderboards.load_bucket(id, expiry)

    @tracked
    async def leaderboard_records_list_cursor_from_rank(self, id: str, rank: int, expiry: int = 0) -> str:
        """A ``leaderboard_records_list`` cursor that starts the page at ``rank``."""
        scope = CURRENT.get()
        if scope is not None and (user_id := scope.catch_up_for) is not None:
            await self._leaderboards.caught_up(user_id)  # read-your-writes (above)
            scope.catch_up_for = None
        return await self._leaderboards.cursor_from_rank(id, rank, expiry)

    @tracked
    async def leaderboard_ranks_disable(self, id: str) -> None:
        await self._leaderboards.disable_ranks(id)

    @tracked
    async def leaderboard_records_delete_expired(self, id: str, before: datetime | int,
                                                 batch_size: int = 5000) -> int:
        """Delete the records of the periods that ended before ``before`` (a datetime or unix
        seconds), ``batch_size`` at a time; the number of records deleted."""
        moment = before if isinstance(before, datetime) else datetime.fromtimestamp(before, UTC)
        return await self._leaderboards.delete_expired_buckets(id, moment, batch_size)

    @tracked
    async def leaderboard_record_write_once_count(self, id: str, expiry: int | None = None) -> int:
        """How many ``leaderboard_record_write_once`` keys the board remembers; with ``expiry`` (the
        unix seconds a period ends), how many of those writes were accepted into that period."""
        return await self._leaderboards.count_receipts(id, expiry=expiry or 0)

    @tracked
    async def leaderboard_record_write_once_purge(self, batch_size: int = 5000) -> int:
        """Forget the ``leaderboard_record_write_once`` keys past their ``ttl_seconds`` (of every
        board), ``batch_size`` at a time; how many were forgotten."""
        return await self._leaderboards.purge_expired_receipts(batch_size)

    # --- storage --------------------------------------------------------------------

    @tracked
    async def storage_read(self, object_ids: Sequence[StorageIdLike]) -> list[StorageObject]:
        """Objects that exist, in request order. ``user_id`` None means the system user."""
        return await self._storage.read([_storage_id(item) for item in object_ids], caller=None)

    @tracked
    async def storage_write(self, writes: Sequence[StorageWriteLike]) -> list[StorageAck]:
        """Write atomically; ``value`` may be JSON text or a mapping. Version checks apply."""
        return await self._storage.write([_storage_write(item) for item in writes], caller=None)

    @tracked
    async def storage_delete(self, object_ids: Sequence[StorageIdLike]) -> None:
        await self._storage.delete([_storage_id(item) for item in object_ids], caller=None)

    @tracked
    async def storage_count(self, collection: str, user_id: str | None = None) -> int:
        """How many objects ``collection`` holds, of every owner or of ``user_id``."""
        return await self._storage.count(collection, user_id=user_id)

    @tracked
    async def storage_list(self, user_id: str | None, collection: str, limit: int = 100, cursor: str | None = None,
                           caller_id: str | None = None) -> tuple[list[StorageObject], str | None]:
        """A page of a collection: one user's objects, or every user's when ``user_id`` is None.
        With ``caller_id`` the client visibility rules of that user apply."""
        return await self._storage.list_objects(collection, user_id=user_id or None, limit=limit,
                                              cursor=cursor or None, caller=caller_id or None)

    # --- accounts and users -------------------------------------------------------

    @tracked
    async def account_get_id(self, user_id: str) -> Account:
        return await self._accounts.get_account(user_id)

    @tracked
    async def account_update_id(self, user_id: str, *, username: str | None = None, display_name: str | None = None,
                                avatar_url: str | None = None, lang_tag: str | None = None,
                                location: str | None = None, timezone: str | None = None,
                                metadata: Mapping[str, Any] | None = None) -> None:
        await self._accounts.update_account(
            user_id, username=username, display_name=display_name, avatar_url=avatar_url, lang_tag=lang_tag,
            location=location, timezone=timezone, metadata=dict(metadata) if metadata is not None else None)

    @tracked
    async def account_delete_id(self, user_id: str) -> None:
        await self._accounts.delete_account(user_id)

    @tracked
    async def users_get_id(self, user_ids: Sequence[str]) -> list[User]:
        return await self._accounts.get_users(ids=list(user_ids))

    @tracked
    async def users_get_username(self, usernames: Sequence[str]) -> list[User]:
        return await self._accounts.get_users(usernames=list(usernames))

    @tracked
    async def authenticate_custom(self, id: str, username: str = "", create: bool = True) -> AuthResult:
        return await self._accounts.authenticate_custom(id, username=username, create=create)

    @tracked
    async def authenticate_device(self, id: str, username: str = "", create: bool = True) -> AuthResult:
        return await self._accounts.authenticate_device(id, username=username, create=create)

    @tracked
    async def authenticate_email(self, email: str, password: str, username: str = "",
                                 create: bool = True) -> AuthResult:
        return await self._accounts.authenticate_email(email, password, username=username, create=create)

    @tracked
    async def authenticate_token_generate(self, user_id: str, username: str | None = None, expires_at: int = 0,
                                          vars: Mapping[str, str] | None = None) -> tuple[str, int]:
        """A session token for a user: ``(token, expires_at)``. Without a username, the user's own is
        used; ``expires_at`` 0 means the configured ``session.token_expiry_sec`` from now."""
        try:
            user_id = str(uuid.UUID(str(user_id)))
        except ValueError:
            raise invalid_argument("expects valid user id") from None
        if not username:
            users = await self._accounts.get_users(ids=[user_id])
            if not users:
                raise not_found("User account not found.")
            username = users[0].username
        issued = self._sessions.issue(user_id, username, dict(vars or {}), expires_at=expires_at or None)
        return issued.token, issued.claims.expires_at

    # --- wallets ----------------------------------------------------------------------

    @tracked
    async def wallet_update(self, user_id: str, changeset: Mapping[str, int],
                            metadata: Mapping[str, Any] | None = None, update_ledger: bool = True, *,
                            allow_negative: bool = False) -> WalletUpdateResult:
        """Add each amount to the user's balance, atomically. A balance that would go below zero
        raises ``WalletNegativeError`` (code 9) and changes nothing, unless ``allow_negative``."""
        return await self._wallets.update_one(user_id, changeset, metadata, update_ledger=update_ledger,
                                                    allow_negative=allow_negative)

    @tracked
    async def wallets_update(self, updates: Sequence[WalletUpdateLike], update_ledger: bool = True, *,
                             allow_negative: bool = False) -> list[WalletUpdateResult]:
        """Several users' wallets in one transaction: all change or none do."""
        return await self._wallets.update([_wallet_update(item) for item in updates],
                                                update_ledger=update_ledger, allow_negative=allow_negative)

    @tracked
    async def wallet_ledger_list(self, user_id: str, limit: int = 100, cursor: str | None = None,
                                 ) -> tuple[list[WalletLedgerItem], str | None]:
        """A user's wallet ledger, newest first, and the cursor of the next page (None at the end)."""
        return await self._wallets.ledger_list(user_id, limit, cursor or None)

    # --- notifications -------------------------------------------------------------

    @tracked
    async def notification_send(self, user_id: str, subject: str, content: Mapping[str, Any], code: int,
                                sender_id: str | None = None, persistent: bool = True) -> Notification:
        notes = await self._notifications.send(
            [NotificationSend(user_id, subject, content, code, sender_id or None, persistent)])
        return notes[0]

    @tracked
    async def notifications_send(self, notifications: Sequence[NotificationLike]) -> list[Notification]:
        return await self._notifications.send([_notification(item) for item in notifications])

    @tracked
    async def notifications_list(self, user_id: str, limit: int = 100, cursor: str | None = None,
                                 ) -> tuple[list[Notification], str | None]:
        return await self._notifications.list_notifications(user_id, limit, cursor or None)

    # --- several writes at once -------------------------------------------------

    @tracked
    async def multi_update(self, storage_writes: Sequence[StorageWriteLike] = (),
                           wallet_updates: Sequence[WalletUpdateLike] = (),
                           storage_deletes: Sequence[StorageIdLike] = (), update_ledger: bool = True, *,
                           allow_negative: bool = False) -> MultiUpdateResult:
        """Storage writes and deletes and wallet updates in ONE transaction: all or nothing."""
        return await self._multi_updater.apply(
            storage_writes=[_storage_write(item) for item in storage_writes],
            storage_deletes=[_storage_id(item) for item in storage_deletes],
            wallet_updates=[_wallet_update(item) for item in wallet_updates],
            update_ledger=update_ledger, allow_negative=allow_negative)

    # --- SQL ---------------------------------------------------------------------------

    @tracked
    async def sql_query(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts. Values go in ``params`` only, with ``%s`` or ``%(name)s`` placeholders."""
        return await self._sql.fetch_dicts(query, _params(params))

    @tracked
    async def sql_exec(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one statement; the number of rows it touched."""
        return await self._sql.execute(query, _params(params))

    # --- running code once ---------------------------------------------------------

    @tracked
    async def run_once(self, fn: Callable[[Context, RuntimeLogger, NakamaModule], Awaitable[None]]) -> None:
        """Run ``async def fn(ctx, logger, nk)`` the first time this is called for it in this process."""
        key = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"
        if key in self._ran_once:
            return
        self._ran_once.add(key)
        logger = RuntimeLogger({"module": getattr(fn, "__module__", ""), "run_once": key})
        await fn(Context(self._info, RUN_ONCE), logger, self)

    # --- utilities ---------------------------------------------------------------------

    @staticmethod
    def uuid_v4() -> str:
        return str(uuid.uuid4())

    @staticmethod
    def time() -> int:
        """Now, in milliseconds since the Unix epoch (as Nakama's ``nk.time``)."""
        return _time.time_ns() // 1_000_000

    @staticmethod
    def cron_next(expression: str, timestamp: float | None = None) -> int:
        """The first time matching the cron expression strictly after ``timestamp`` (unix seconds, UTC;
        default now). Expressions are read as leaderboard reset schedules are (Nakama's forms)."""
        try:
            return parse_schedule(expression).next_after(_time.time() if timestamp is None else timestamp)
        except InvalidSchedule:
            raise invalid_argument("expects a valid cron string") from None

    @staticmethod
    def cron_prev(expression: str, timestamp: float | None = None) -> int:
        """The last time matching the cron expression strictly before ``timestamp``."""
        moment = _time.time() if timestamp is None else timestamp
        try:
            return parse_schedule(expression).last_at_or_before(math.ceil(moment) - 1)
        except InvalidSchedule:
            raise invalid_argument("expects a valid cron string") from None

    @staticmethod
    def json_encode(value: Any) -> str:
        return orjson.dumps(value).decode()

    @staticmethod
    def json_decode(text: str | bytes) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise invalid_argument(f"invalid JSON: {exc.msg}") from None

    # --- per-process cache -----------------------------------------------------------

    def localcache_get(self, key: str, default: Any = None) -> Any:
        return self._cache.get(key, default)

    def localcache_put(self, key: str, value: Any, ttl_seconds: float = 0) -> None:
        """Keep ``value`` in this process for ``ttl_seconds`` (0: until deleted)."""
        self._cache.put(key, value, ttl_seconds)

    def localcache_delete(self, key: str) -> None:
        self._cache.delete(key)

    def localcache_clear(self) -> None:
        self._cache.clear()

    # --- metrics -------------------------------------------------------------------------

    def metrics_counter_add(self, name: str, tags: Mapping[str, str] | None = None, delta: float = 1) -> None:
        """Add to the Prometheus counter ``<prefix>_<custom_prefix>_<name>``."""
        self._metrics.counter_add(name, tags, delta)

    def metrics_gauge_set(self, name: str, tags: Mapping[str, str] | None = None, value: float = 0) -> None:
        self._metrics.gauge_set(name, tags, value)

    def metrics_timer_record(self, name: str, tags: Mapping[str, str] | None = None, seconds: float = 0) -> None:
        """Observe a duration in seconds in the histogram ``<prefix>_<custom_prefix>_<name>``."""
        self._metrics.timer_record(name, tags, seconds)
