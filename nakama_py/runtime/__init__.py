"""The public API of runtime modules: everything a module imports comes from here.

    from nakama_py.runtime import Code, NakamaError

    async def echo(ctx, logger, nk, payload):
        return payload

    def init_module(ctx, logger, nk, initializer):
        initializer.register_rpc("echo", echo)

See docs/runtime.md for the module contract and every ``nk`` function.
"""

from __future__ import annotations

from nakama_py.core.account_types import Account, AuthResult, User
from nakama_py.core.events import Event
from nakama_py.core.friends import Friend, FriendOfFriend
from nakama_py.core.group_types import Group, GroupUser, UserGroup
from nakama_py.core.leaderboards import Leaderboard, LeaderboardRecord, RankEntry, RecordList, TopList, WriteReceipt
from nakama_py.core.multi_update import MultiUpdateResult
from nakama_py.core.notifications import Notification, NotificationSend
from nakama_py.core.storage import SYSTEM_USER_ID, StorageAck, StorageObject, StorageObjectId, StorageWrite
from nakama_py.core.tournaments import Tournament
from nakama_py.core.wallet import WalletLedgerItem, WalletNegativeError, WalletUpdate, WalletUpdateResult
from nakama_py.errors import Code, NakamaError, RateLimitedError
from nakama_py.runtime.context import Context
from nakama_py.runtime.initializer import Initializer
from nakama_py.runtime.logger import RuntimeLogger
from nakama_py.runtime.nk import NakamaModule

__all__ = [
    "SYSTEM_USER_ID",
    "Account",
    "AuthResult",
    "Code",
    "Context",
    "Event",
    "Friend",
    "FriendOfFriend",
    "Group",
    "GroupUser",
    "Initializer",
    "Leaderboard",
    "LeaderboardRecord",
    "MultiUpdateResult",
    "NakamaError",
    "NakamaModule",
    "Notification",
    "NotificationSend",
    "RankEntry",
    "RateLimitedError",
    "RecordList",
    "RuntimeLogger",
    "StorageAck",
    "StorageObject",
    "StorageObjectId",
    "StorageWrite",
    "TopList",
    "Tournament",
    "User",
    "UserGroup",
    "WalletLedgerItem",
    "WalletNegativeError",
    "WalletUpdate",
    "WalletUpdateResult",
    "WriteReceipt",
]
