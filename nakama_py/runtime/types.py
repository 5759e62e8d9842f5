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

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

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
from nakama_py.core.tournaments import Tournament
from nakama_py.core.wallet import WalletLedgerItem, WalletUpdate, WalletUpdateResult

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



@dataclass(frozen=True, slots=True)
class HttpResponse:
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
    "HttpResponse",
    "Leaderboard",
    "LeaderboardRecord",
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
