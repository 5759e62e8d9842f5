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
from typing import TYPE_CHECKING, Any

import orjson

from nakama_py.core.events import Event
from nakama_py.core.leaderboard_schedule import InvalidSchedule, parse_schedule
from nakama_py.core.multi_update import MultiUpdateResult, multi_update
from nakama_py.core.notifications import Notification, NotificationSend
from nakama_py.core.storage import StorageAck, StorageObject, StorageObjectId, StorageWrite
from nakama_py.core.wallet import WalletLedgerItem, WalletUpdate, WalletUpdateResult
from nakama_py.errors import invalid_argument, not_found
from nakama_py.runtime.context import RUN_ONCE, Context, RuntimeInfo
from nakama_py.runtime.localcache import LocalCache
from nakama_py.runtime.logger import RuntimeLogger

if TYPE_CHECKING:
    from nakama_py.core.account_types import Account, AuthResult, User
    from nakama_py.core.friends import Friend
    from nakama_py.core.group_types import Group, GroupUser, UserGroup
    from nakama_py.core.leaderboards import Leaderboard, LeaderboardRecord, RankEntry, RecordList, TopList, WriteReceipt
    from nakama_py.core.tournaments import Tournament
    from nakama_py.state import ServerState

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


def _params(params: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
    if isinstance(params, (str, bytes)):
        raise invalid_argument("sql parameters must be a sequence or a mapping of values, not a string")
    return dict(params) if isinstance(params, Mapping) else params


class NakamaModule:
    """The ``nk`` object. One per server process, shared by every module and call."""

    def __init__(self, state: ServerState, info: RuntimeInfo) -> None:
        self._state = state
        self._info = info
        self._cache = LocalCache()
        self._ran_once: set[str] = set()

    # --- leaderboards -------------------------------------------------------------

    async def leaderboard_create(self, id: str, authoritative: bool = False, sort_order: str | int = "desc",
                                 operator: str | int = "best", reset_schedule: str | None = None,
                                 metadata: Mapping[str, Any] | None = None, enable_ranks: bool = True,
                                 ) -> Leaderboard:
        """Create a leaderboard, or return the existing one with that id (idempotent)."""
        return await self._state.leaderboards.create(
            id, authoritative=authoritative, sort_order=sort_order, operator=operator,
            reset_schedule=reset_schedule or None, metadata=dict(metadata or {}), enable_ranks=enable_ranks)

    async def leaderboard_delete(self, id: str) -> None:
        await self._state.leaderboards.delete(id)

    async def leaderboard_list(self, limit: int = 10, cursor: str | None = None,
                               ) -> tuple[list[Leaderboard], str | None]:
        return await self._state.leaderboards.list(limit, cursor or None)

    async def leaderboards_get_id(self, ids: Sequence[str]) -> list[Leaderboard]:
        return await self._state.leaderboards.get(list(ids))

    async def leaderboard_record_write(self, id: str, owner_id: str, username: str | None = None, score: int = 0,
                                       subscore: int = 0, metadata: Mapping[str, Any] | None = None,
                                       override_operator: int | str | None = None) -> LeaderboardRecord:
        """Write a score, bypassing the authoritative check. ``override_operator``: best/set/incr/decr."""
        return await self._state.leaderboards.write_record(
            id, owner_id, username=username or None, score=score, subscore=subscore,
            metadata=dict(metadata) if metadata is not None else None,
            override_operator=_override(override_operator), caller=None)

    async def leaderboard_records_list(self, id: str, owner_ids: Sequence[str] | None = None, limit: int = 100,
                                       cursor: str | None = None, expiry: int | None = None) -> RecordList:
        """A page of records (limit 0-10000; 0 returns only the owners' records) of the current
        bucket, or of the bucket that expires at ``expiry`` (unix seconds)."""
        return await self._state.leaderboards.list_records(
            id, owner_ids=list(owner_ids) if owner_ids is not None else None, limit=limit, cursor=cursor or None,
            expiry=expiry or 0, caller=None)

    async def leaderboard_records_haystack(self, id: str, owner_id: str, limit: int = 10, cursor: str | None = None,
                                           expiry: int | None = None) -> RecordList:
        """The records around ``owner_id``."""
        return await self._state.leaderboards.haystack(id, owner_id, limit=limit, cursor=cursor or None,
                                                       expiry=expiry or 0)

    async def leaderboard_record_delete(self, id: str, owner_id: str) -> None:
        await self._state.leaderboards.delete_record(id, owner_id, caller=None)

    async def leaderboard_record_write_once(self, id: str, owner_id: str, key: str, *, score: int,
                                            subscore: int = 0, username: str | None = None,
                                            metadata: Mapping[str, Any] | None = None, ttl_seconds: int = 3600,
                                            rate_limit: tuple[int, int] | None = None) -> WriteReceipt:
        """An idempotent write: the first call with ``(id, owner_id, key)`` writes; later calls within
        ``ttl_seconds`` return its receipt (``replayed=True``). ``rate_limit=(n, window_seconds)``
        caps accepted writes per owner and raises ``RateLimitedError`` beyond it."""
        return await self._state.leaderboards.write_record_once(
            id, owner_id, key, score=score, subscore=subscore, username=username or None,
            metadata=dict(metadata) if metadata is not None else None, ttl_seconds=ttl_seconds,
            rate_limit=rate_limit)

    def leaderboard_top(self, id: str, limit: int, expiry: int = 0) -> TopList:
        """The best ``limit`` entries of a bucket, from memory (no database round trip)."""
        return self._state.leaderboards.top(id, limit, expiry)

    def leaderboard_rank(self, id: str, owner_id: str, expiry: int = 0) -> RankEntry | None:
        """An owner's rank in a bucket, from memory; None when the owner has no record there."""
        return self._state.leaderboards.rank_of(id, owner_id, expiry)

    async def leaderboard_bucket_load(self, id: str, expiry: int = 0) -> int:
        """Bring a past bucket's ranks into memory for ``leaderboard_top``/``leaderboard_rank``
        (the current bucket always is); the number of records in it."""
        return await self._state.leaderboards.load_bucket(id, expiry)

    async def leaderboard_records_list_cursor_from_rank(self, id: str, rank: int, expiry: int = 0) -> str:
        """A ``leaderboard_records_list`` cursor that starts the page at ``rank``."""
        return await self._state.leaderboards.cursor_from_rank(id, rank, expiry)

    async def leaderboard_ranks_disable(self, id: str) -> None:
        await self._state.leaderboards.disable_ranks(id)

    async def leaderboard_buckets_delete(self, id: str, before: datetime | int, batch_size: int = 5000) -> int:
        """Delete the records of buckets that expired before ``before`` (a datetime or unix seconds),
        in batches; the number of records deleted."""
        moment = before if isinstance(before, datetime) else datetime.fromtimestamp(before, UTC)
        return await self._state.leaderboards.delete_expired_buckets(id, moment, batch_size)

    async def leaderboard_receipts_count(self, id: str, expiry: int | None = None) -> int:
        """How many ``leaderboard_record_write_once`` keys the board remembers; with ``expiry`` (unix
        seconds of a bucket's end), how many accepted idempotent writes landed in that bucket."""
        return await self._state.leaderboards.count_receipts(id, expiry=expiry or 0)

    async def leaderboard_receipts_purge(self, batch_size: int = 5000) -> int:
        """Delete the idempotency receipts of ``leaderboard_record_write_once`` past their ttl."""
        return await self._state.leaderboards.purge_expired_receipts(batch_size)

    # --- storage --------------------------------------------------------------------

    async def storage_read(self, object_ids: Sequence[StorageIdLike]) -> list[StorageObject]:
        """Objects that exist, in request order. ``user_id`` None means the system user."""
        return await self._state.storage.read([_storage_id(item) for item in object_ids], caller=None)

    async def storage_write(self, writes: Sequence[StorageWriteLike]) -> list[StorageAck]:
        """Write atomically; ``value`` may be JSON text or a mapping. Version checks apply."""
        return await self._state.storage.write([_storage_write(item) for item in writes], caller=None)

    async def storage_delete(self, object_ids: Sequence[StorageIdLike]) -> None:
        await self._state.storage.delete([_storage_id(item) for item in object_ids], caller=None)

    async def storage_count(self, collection: str, user_id: str | None = None) -> int:
        """How many objects ``collection`` holds, of every owner or of ``user_id``."""
        return await self._state.storage.count(collection, user_id=user_id)

    async def storage_list(self, user_id: str | None, collection: str, limit: int = 100, cursor: str | None = None,
                           caller_id: str | None = None) -> tuple[list[StorageObject], str | None]:
        """A page of a collection: one user's objects, or every user's when ``user_id`` is None.
        With ``caller_id`` the client visibility rules of that user apply."""
        return await self._state.storage.list(collection, user_id=user_id or None, limit=limit,
                                              cursor=cursor or None, caller=caller_id or None)

    # --- accounts and users -------------------------------------------------------

    async def account_get_id(self, user_id: str) -> Account:
        return await self._state.accounts.get_account(user_id)

    async def account_update_id(self, user_id: str, *, username: str | None = None, display_name: str | None = None,
                                avatar_url: str | None = None, lang_tag: str | None = None,
                                location: str | None = None, timezone: str | None = None,
                                metadata: Mapping[str, Any] | None = None) -> None:
        await self._state.accounts.update_account(
            user_id, username=username, display_name=display_name, avatar_url=avatar_url, lang_tag=lang_tag,
            location=location, timezone=timezone, metadata=dict(metadata) if metadata is not None else None)

    async def account_delete_id(self, user_id: str) -> None:
        await self._state.accounts.delete_account(user_id)

    async def users_get_id(self, user_ids: Sequence[str]) -> list[User]:
        return await self._state.accounts.get_users(ids=list(user_ids))

    async def users_get_username(self, usernames: Sequence[str]) -> list[User]:
        return await self._state.accounts.get_users(usernames=list(usernames))

    async def authenticate_custom(self, id: str, username: str = "", create: bool = True) -> AuthResult:
        return await self._state.accounts.authenticate_custom(id, username=username, create=create)

    async def authenticate_device(self, id: str, username: str = "", create: bool = True) -> AuthResult:
        return await self._state.accounts.authenticate_device(id, username=username, create=create)

    async def authenticate_email(self, email: str, password: str, username: str = "",
                                 create: bool = True) -> AuthResult:
        return await self._state.accounts.authenticate_email(email, password, username=username, create=create)

    async def authenticate_token_generate(self, user_id: str, username: str | None = None, expires_at: int = 0,
                                          vars: Mapping[str, str] | None = None) -> tuple[str, int]:
        """A session token for a user: ``(token, expires_at)``. Without a username, the user's own is
        used; ``expires_at`` 0 means the configured ``session.token_expiry_sec`` from now."""
        try:
            user_id = str(uuid.UUID(str(user_id)))
        except ValueError:
            raise invalid_argument("expects valid user id") from None
        if not username:
            users = await self._state.accounts.get_users(ids=[user_id])
            if not users:
                raise not_found("User account not found.")
            username = users[0].username
        issued = self._state.sessions.issue(user_id, username, dict(vars or {}), expires_at=expires_at or None)
        return issued.token, issued.claims.expires_at

    # --- wallets ----------------------------------------------------------------------

    async def wallet_update(self, user_id: str, changeset: Mapping[str, int],
                            metadata: Mapping[str, Any] | None = None, update_ledger: bool = True, *,
                            allow_negative: bool = False) -> WalletUpdateResult:
        """Add each amount to the user's balance, atomically. A balance that would go below zero
        raises ``WalletNegativeError`` (code 9) and changes nothing, unless ``allow_negative``."""
        return await self._state.wallets.update_one(user_id, changeset, metadata, update_ledger=update_ledger,
                                                    allow_negative=allow_negative)

    async def wallets_update(self, updates: Sequence[WalletUpdateLike], update_ledger: bool = True, *,
                             allow_negative: bool = False) -> list[WalletUpdateResult]:
        """Several users' wallets in one transaction: all change or none do."""
        return await self._state.wallets.update([_wallet_update(item) for item in updates],
                                                update_ledger=update_ledger, allow_negative=allow_negative)

    async def wallet_ledger_list(self, user_id: str, limit: int = 100, cursor: str | None = None,
                                 ) -> tuple[list[WalletLedgerItem], str | None]:
        """A user's wallet ledger, newest first, and the cursor of the next page (None at the end)."""
        return await self._state.wallets.ledger_list(user_id, limit, cursor or None)

    # --- notifications -------------------------------------------------------------

    async def notification_send(self, user_id: str, subject: str, content: Mapping[str, Any], code: int,
                                sender_id: str | None = None, persistent: bool = True) -> Notification:
        notes = await self._state.notifications.send(
            [NotificationSend(user_id, subject, content, code, sender_id or None, persistent)])
        return notes[0]

    async def notifications_send(self, notifications: Sequence[NotificationLike]) -> list[Notification]:
        return await self._state.notifications.send([_notification(item) for item in notifications])

    async def notifications_list(self, user_id: str, limit: int = 100, cursor: str | None = None,
                                 ) -> tuple[list[Notification], str | None]:
        return await self._state.notifications.list(user_id, limit, cursor or None)

    # --- several writes at once -------------------------------------------------

    async def multi_update(self, storage_writes: Sequence[StorageWriteLike] = (),
                           wallet_updates: Sequence[WalletUpdateLike] = (),
                           storage_deletes: Sequence[StorageIdLike] = (), update_ledger: bool = True, *,
                           allow_negative: bool = False) -> MultiUpdateResult:
        """Storage writes and deletes and wallet updates in ONE transaction: all or nothing."""
        state = self._state
        return await multi_update(
            state.db, state.storage, state.wallets,
            storage_writes=[_storage_write(item) for item in storage_writes],
            storage_deletes=[_storage_id(item) for item in storage_deletes],
            wallet_updates=[_wallet_update(item) for item in wallet_updates],
            update_ledger=update_ledger, allow_negative=allow_negative)

    # --- SQL ---------------------------------------------------------------------------

    async def sql_query(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts. Values go in ``params`` only, with ``%s`` or ``%(name)s`` placeholders."""
        return await self._state.db.fetch_dicts(query, _params(params))

    async def sql_exec(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one statement; the number of rows it touched."""
        return await self._state.db.execute(query, _params(params))

    # --- running code once ---------------------------------------------------------

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
        self._state.metrics.counter_add(name, tags, delta)

    def metrics_gauge_set(self, name: str, tags: Mapping[str, str] | None = None, value: float = 0) -> None:
        self._state.metrics.gauge_set(name, tags, value)

    def metrics_timer_record(self, name: str, tags: Mapping[str, str] | None = None, seconds: float = 0) -> None:
        """Observe a duration in seconds in the histogram ``<prefix>_<custom_prefix>_<name>``."""
        self._state.metrics.timer_record(name, tags, seconds)

    # --- social (issue 16): users, friends -------------------------------------------------------

    async def users_get_facebook_id(self, facebook_ids: Sequence[str]) -> list[User]:
        return await self._state.accounts.get_users(facebook_ids=list(facebook_ids))

    async def friends_list(self, user_id: str, limit: int = 100, state: int | None = None,
                           cursor: str | None = None) -> tuple[list[Friend], str | None]:
        """The user's friends (state 0), invites (1 sent, 2 received) and blocks (3); limit 1-1000."""
        return await self._state.friends.list_friends(user_id, limit=limit, state=state, cursor=cursor or None)

    async def _friend_targets(self, user_id: str, username: str, ids: Sequence[str] | None,
                              usernames: Sequence[str] | None, self_message: str) -> list[str]:
        return await self._state.friends.resolve(user_id, username, list(ids or ()), list(usernames or ()),
                                                 self_message=self_message, require_found=False)

    async def friends_add(self, user_id: str, username: str, ids: Sequence[str] | None = None,
                          usernames: Sequence[str] | None = None, metadata: Mapping[str, Any] | None = None) -> None:
        """Invite the users as ``user_id`` (or accept their invites)."""
        targets = await self._friend_targets(user_id, username, ids, usernames, "Cannot add self as friend.")
        await self._state.friends.add(user_id, username, targets, orjson.dumps(dict(metadata or {})).decode())

    async def friends_delete(self, user_id: str, username: str, ids: Sequence[str] | None = None,
                             usernames: Sequence[str] | None = None) -> None:
        targets = await self._friend_targets(user_id, username, ids, usernames, "Cannot delete self.")
        await self._state.friends.delete(user_id, username, targets)

    async def friends_block(self, user_id: str, username: str, ids: Sequence[str] | None = None,
                            usernames: Sequence[str] | None = None) -> None:
        targets = await self._friend_targets(user_id, username, ids, usernames, "Cannot block self.")
        await self._state.friends.block(user_id, targets)

    # --- social (issue 16): groups (the runtime acts as a superadmin unless ``caller_id`` is given) ---

    async def group_create(self, user_id: str, name: str, lang_tag: str = "", description: str = "",
                           avatar_url: str = "", open: bool = False, metadata: Mapping[str, Any] | None = None,
                           max_count: int = 0) -> Group:
        return await self._state.groups.create(user_id, name, description=description, avatar_url=avatar_url,
                                               lang_tag=lang_tag, open=open, max_count=max_count,
                                               metadata=dict(metadata or {}))

    async def group_update(self, group_id: str, user_id: str | None = None, name: str | None = None,
                           lang_tag: str | None = None, description: str | None = None,
                           avatar_url: str | None = None, open: bool | None = None,
                           metadata: Mapping[str, Any] | None = None, max_count: int | None = None) -> None:
        await self._state.groups.update(group_id, user_id or None, name=name, lang_tag=lang_tag,
                                        description=description, avatar_url=avatar_url, open=open,
                                        metadata=dict(metadata) if metadata is not None else None,
                                        max_count=max_count)

    async def group_delete(self, group_id: str) -> None:
        await self._state.groups.delete(group_id, None)

    async def groups_get_id(self, group_ids: Sequence[str]) -> list[Group]:
        return await self._state.groups.get(list(group_ids))

    async def group_user_join(self, group_id: str, user_id: str, username: str) -> None:
        await self._state.groups.join(group_id, user_id, username)

    async def group_user_leave(self, group_id: str, user_id: str) -> None:
        await self._state.groups.leave(group_id, user_id)

    async def group_users_add(self, group_id: str, user_ids: Sequence[str], caller_id: str | None = None) -> None:
        await self._state.groups.add(group_id, caller_id or None, list(user_ids))

    async def group_users_kick(self, group_id: str, user_ids: Sequence[str], caller_id: str | None = None) -> None:
        await self._state.groups.kick(group_id, caller_id or None, list(user_ids))

    async def group_users_ban(self, group_id: str, user_ids: Sequence[str], caller_id: str | None = None) -> None:
        await self._state.groups.ban(group_id, caller_id or None, list(user_ids))

    async def group_users_promote(self, group_id: str, user_ids: Sequence[str],
                                  caller_id: str | None = None) -> None:
        await self._state.groups.promote(group_id, caller_id or None, list(user_ids))

    async def group_users_demote(self, group_id: str, user_ids: Sequence[str],
                                 caller_id: str | None = None) -> None:
        await self._state.groups.demote(group_id, caller_id or None, list(user_ids))

    async def group_users_list(self, group_id: str, limit: int = 100, state: int | None = None,
                               cursor: str | None = None) -> tuple[list[GroupUser], str | None]:
        return await self._state.groups.list_members(group_id, limit=limit, state=state, cursor=cursor or None)

    async def user_groups_list(self, user_id: str, limit: int = 100, state: int | None = None,
                               cursor: str | None = None) -> tuple[list[UserGroup], str | None]:
        return await self._state.groups.list_user_groups(user_id, limit=limit, state=state, cursor=cursor or None)

    async def groups_list(self, name: str = "", lang_tag: str = "", members: int | None = None,
                          open: bool | None = None, limit: int = 100,
                          cursor: str | None = None) -> tuple[list[Group], str | None]:
        return await self._state.groups.list_groups(name=name, lang_tag=lang_tag, open=open, members=members,
                                                    limit=limit, cursor=cursor or None)

    # --- social (issue 16): events ------------------------------------------------------------------

    def event(self, name: str, properties: Mapping[str, str] | None = None, timestamp: float | None = None,
              external: bool = False) -> bool:
        """Queue an event for the event functions (as the server, no user); False when it was dropped."""
        when = datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else datetime.now(UTC)
        return self._state.events.submit(Event(name, dict(properties or {}), when, external))

    # --- social (issue 16): tournaments ------------------------------------------------------------

    async def tournament_create(self, id: str, authoritative: bool = True, sort_order: str | int = "desc",
                                operator: str | int = "best", reset_schedule: str | None = None,
                                metadata: Mapping[str, Any] | None = None, title: str = "", description: str = "",
                                category: int = 0, start_time: int = 0, end_time: int = 0, duration: int = 0,
                                max_size: int = 0, max_num_score: int = 0, join_required: bool = False,
                                enable_ranks: bool = True) -> Tournament:
        """Create a tournament (or return the existing one). Times are unix seconds; ``duration`` (> 0) is
        how long each period takes scores; ``max_size``/``max_num_score`` 0 mean unlimited."""
        return await self._state.tournaments.create(
            id, authoritative=authoritative, sort_order=sort_order, operator=operator,
            reset_schedule=reset_schedule or None, metadata=metadata, title=title, description=description,
            category=category, start_time=start_time, end_time=end_time, duration=duration, max_size=max_size,
            max_num_score=max_num_score, join_required=join_required, enable_ranks=enable_ranks)

    async def tournament_delete(self, id: str) -> None:
        await self._state.tournaments.delete(id)

    async def tournaments_get_id(self, ids: Sequence[str]) -> list[Tournament]:
        return await self._state.tournaments.get(list(ids))

    async def tournament_list(self, category_start: int = 0, category_end: int = 127, start_time: int = -1,
                              end_time: int = -1, limit: int = 10,
                              cursor: str | None = None) -> tuple[list[Tournament], str | None]:
        return await self._state.tournaments.list(category_start=category_start, category_end=category_end,
                                                  start_time=start_time, end_time=end_time, limit=limit,
                                                  cursor=cursor or None)

    async def tournament_join(self, id: str, owner_id: str, username: str | None = None) -> None:
        await self._state.tournaments.join(id, owner_id, username)

    async def tournament_record_write(self, id: str, owner_id: str, username: str | None = None, score: int = 0,
                                      subscore: int = 0, metadata: Mapping[str, Any] | None = None,
                                      override_operator: int | str | None = None) -> LeaderboardRecord:
        return await self._state.tournaments.write_record(
            id, owner_id, username=username, score=score, subscore=subscore, metadata=metadata,
            override_operator=_override(override_operator))

    async def tournament_record_delete(self, id: str, owner_id: str) -> None:
        await self._state.tournaments.delete_record(id, owner_id)

    async def tournament_add_attempt(self, id: str, owner_id: str, count: int) -> None:
        """Give the owner ``count`` more attempts (``max_num_score``) in the current period."""
        await self._state.tournaments.add_attempts(id, owner_id, count)

    async def tournament_records_list(self, id: str, owner_ids: Sequence[str] | None = None, limit: int = 100,
                                      cursor: str | None = None, expiry: int = 0) -> RecordList:
        return await self._state.tournaments.list_records(
            id, owner_ids=list(owner_ids) if owner_ids is not None else None, limit=limit, cursor=cursor or None,
            expiry=expiry)

    async def tournament_records_haystack(self, id: str, owner_id: str, limit: int = 10, cursor: str | None = None,
                                          expiry: int = 0) -> RecordList:
        return await self._state.tournaments.haystack(id, owner_id, limit=limit, cursor=cursor or None,
                                                      expiry=expiry)
