"""The values ``nk`` takes and returns: the types runtime modules program against.

Import them from ``nakama_py.runtime``. They are stable: a later version may add a field,
never rename or drop one (tests/test_runtime_types.py pins every field). All are frozen
dataclasses; docs/runtime.md lists their fields.

``Leaderboard`` is the runtime's own type, converted from the server's at the ``nk``
boundary: the server's carries its database encodings (operators and sort orders as
integers), modules see the names they pass to ``nk.leaderboard_create``.

The others are the server's own value types, exported here under their public names
because they already are exactly Nakama's public shape, with nothing internal in them.
Copying them into look-alike classes would cost a conversion per value on the hot paths
(``leaderboard_top`` answers from a memo of ``RankEntry`` values, so converting would
rebuild every entry on every call) and add nothing a module could see.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from nakama_py.cluster.event_log import LogAppend, LogEntry
from nakama_py.core.account_types import Account, AuthResult, User
from nakama_py.core.events import Event
from nakama_py.core.friends import Friend, FriendOfFriend
from nakama_py.core.group_types import Group, GroupUser, UserGroup
from nakama_py.core.leaderboard_types import LeaderboardRecord, RankEntry, RecordList, TopList, WriteReceipt
from nakama_py.core.matches.types import MatchListing, MatchMessage
from nakama_py.core.matchmaker import MatchmakerEntry, MatchmakerPresence
from nakama_py.core.multi_update import MultiUpdateResult
from nakama_py.core.notifications import Notification, NotificationSend
from nakama_py.core.storage import SYSTEM_USER_ID, StorageAck, StorageObject, StorageObjectId, StorageWrite
from nakama_py.core.tokens import SessionClaims
from nakama_py.core.tournaments import Tournament
from nakama_py.core.wallet import WalletLedgerItem, WalletUpdate, WalletUpdateResult
from nakama_py.errors import unauthenticated
from nakama_py.wire.request import basic_username

SortOrder = Literal["asc", "desc"]
Operator = Literal["best", "set", "incr", "decr"]


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """A leaderboard as ``nk.leaderboard_create``/``_list``/``leaderboards_get_id`` and reset
    functions see it."""

    id: str
    authoritative: bool
    sort_order: SortOrder           # "desc": higher scores rank first
    operator: Operator              # how a write combines with the owner's record
    reset_schedule: str | None      # a cron expression; None: the board never resets
    metadata: dict[str, Any]
    create_time: datetime
    enable_ranks: bool
    prev_reset: int                 # unix seconds of the last reset, 0 when none happened yet
    next_reset: int                 # unix seconds of the next reset, 0 when it never resets


@dataclass(frozen=True, slots=True)
class MatchPresence:
    """A player in a match, as match handlers see them (Nakama's runtime Presence); ``node`` is the
    server process holding the player's socket."""

    user_id: str
    session_id: str
    username: str
    node: str


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """A chat message as ``nk.channel_message_send``/``_update``/``_remove`` and ``channel_messages_list``
    return it; ``room_name``, ``group_id`` or ``user_id_one``/``user_id_two`` name the channel by its kind."""

    channel_id: str
    message_id: str
    code: int                       # 0 chat, 1 update, 2 remove
    sender_id: str
    username: str
    content: dict[str, Any]
    create_time: datetime
    update_time: datetime
    persistent: bool
    room_name: str
    group_id: str
    user_id_one: str
    user_id_two: str


# --- module HTTP routes (initializer.register_http) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpSession:
    """The caller of a module HTTP route that sent ``Authorization: Bearer <session token>``."""

    user_id: str
    username: str
    vars: Mapping[str, str]
    expires_at: int                 # unix seconds


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """What a module HTTP handler returns. ``body`` text is sent as UTF-8; ``headers`` are sent as
    given (``Cache-Control``, ``ETag`` ...), and ``content_type`` unless ``headers`` names one."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request to a module HTTP route. The module decides who may call: ``session()``,
    ``require_session()`` and ``require_http_key()`` check the caller exactly as the server's own
    routes do (the same session verification, revocations included, and the same http_key), and
    raise ``NakamaError`` with code 16 (401) when the check fails."""

    method: str
    path: str
    path_params: Mapping[str, str]              # ``{cycle}`` in the registered path -> its text
    query: Mapping[str, tuple[str, ...]]        # each parameter with all its values
    headers: Mapping[str, tuple[str, ...]]      # by Go-canonical name (``If-None-Match``)
    body: bytes
    _verify_session: Callable[[str], SessionClaims] = field(repr=False, compare=False)
    _http_key: str = field(repr=False, compare=False)

    def header(self, name: str) -> str | None:
        """The first value of a header (any spelling of the name), or None."""
        values = self.headers.get("-".join(p[:1].upper() + p[1:].lower() for p in name.split("-")))
        return values[0] if values else None

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def session(self) -> HttpSession | None:
        """The caller's session when a Bearer token was sent, None when no Authorization header was;
        a token that is invalid, expired or revoked raises ("Auth token invalid")."""
        header = self.header("Authorization")
        if header is None:
            return None
        if not header.startswith("Bearer "):
            raise unauthenticated("Auth token invalid")
        claims = self._verify_session(header[7:])
        return HttpSession(claims.user_id, claims.username, dict(claims.vars or {}), claims.expires_at)

    def require_session(self) -> HttpSession:
        """The caller's session; no Authorization header raises ("Auth token required")."""
        session = self.session()
        if session is None:
            raise unauthenticated("Auth token required")
        return session

    def require_http_key(self) -> None:
        """The server's ``runtime.http_key``, as ``?http_key=`` or as the username of
        ``Authorization: Basic`` (as ``/v2/rpc`` takes it); otherwise raises."""
        given = self.query_value("http_key")
        if given is None:
            header = self.header("Authorization")
            given = basic_username(header) if header is not None else None
        if given is None:
            raise unauthenticated("HTTP key required")
        # Constant time, as the server's own key checks: the answer's timing tells nothing of the key.
        if not self._http_key or not hmac.compare_digest(given.encode(), self._http_key.encode()):
            raise unauthenticated("HTTP key invalid")


# --- the event log (nk.event_log_append, initializer.register_event_log_consumer) ----------------


@dataclass(frozen=True, slots=True)
class LogBatch:
    """What an event log consumer receives: the entries, in log order, and the ones the screens
    (``initializer.register_event_log_screen``) rejected, by ``msg_id``, with their reasons."""

    entries: list[LogEntry]
    rejected: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class HttpResult:
    """What ``nk.http_request`` returns (Nakama's http_request: code, headers, body)."""

    status: int
    headers: dict[str, str]
    body: str


__all__ = [
    "SYSTEM_USER_ID",
    "Account",
    "AuthResult",
    "ChannelMessage",
    "Event",
    "Friend",
    "FriendOfFriend",
    "Group",
    "GroupUser",
    "HttpRequest",
    "HttpResponse",
    "HttpResult",
    "HttpSession",
    "Leaderboard",
    "LeaderboardRecord",
    "LogAppend",
    "LogBatch",
    "LogEntry",
    "MatchListing",
    "MatchMessage",
    "MatchPresence",
    "MatchmakerEntry",
    "MatchmakerPresence",
    "MultiUpdateResult",
    "Notification",
    "NotificationSend",
    "Operator",
    "RankEntry",
    "RecordList",
    "SortOrder",
    "StorageAck",
    "StorageObject",
    "StorageObjectId",
    "StorageWrite",
    "TopList",
    "Tournament",
    "User",
    "UserGroup",
    "WalletLedgerItem",
    "WalletUpdate",
    "WalletUpdateResult",
    "WriteReceipt",
]
