"""The public API of runtime modules: everything a module imports comes from here.

    from nakama_py.runtime import Code, NakamaError

    async def echo(ctx, logger, nk, payload):
        return payload

    def init_module(ctx, logger, nk, initializer):
        initializer.register_rpc("echo", echo)

See docs/runtime.md for the module contract and every ``nk`` function. The value types
are defined for modules in runtime/types.py; nothing here exposes the server's internals.
"""

from __future__ import annotations

from nakama_py.errors import (
    AccountBanned,
    AccountNotFound,
    BucketNotLoaded,
    Code,
    DatabaseUnavailable,
    IdentifierTaken,
    LeaderboardAuthoritative,
    LeaderboardNotFound,
    LeaderboardRanksDisabled,
    NakamaError,
    RateLimitedError,
    StorageDeleteRejected,
    StoragePermissionDenied,
    StorageVersionConflict,
    UsernameTaken,
    WalletNegativeError,
)
from nakama_py.runtime.call_scope import UnawaitedNkCall
from nakama_py.runtime.context import Context
from nakama_py.runtime.initializer import ConfigurationError, Initializer
from nakama_py.runtime.logger import RuntimeLogger
from nakama_py.runtime.nk import NakamaModule
from nakama_py.runtime.types import (
    SYSTEM_USER_ID,
    Account,
    AuthResult,
    ChannelMessage,
    Event,
    Friend,
    FriendOfFriend,
    Group,
    GroupUser,
    HttpRequest,
    HttpResponse,
    HttpSession,
    Leaderboard,
    LeaderboardRecord,
    LogAppend,
    LogBatch,
    LogEntry,
    MultiUpdateResult,
    Notification,
    NotificationSend,
    Operator,
    RankEntry,
    RecordList,
    SortOrder,
    StorageAck,
    StorageObject,
    StorageObjectId,
    StorageWrite,
    TopList,
    Tournament,
    User,
    UserGroup,
    WalletLedgerItem,
    WalletUpdate,
    WalletUpdateResult,
    WriteReceipt,
)

__all__ = [
    "SYSTEM_USER_ID",
    "Account",
    "AccountBanned",
    "AccountNotFound",
    "AuthResult",
    "BucketNotLoaded",
    "ChannelMessage",
    "Code",
    "ConfigurationError",
    "Context",
    "DatabaseUnavailable",
    "Event",
    "Friend",
    "FriendOfFriend",
    "Group",
    "GroupUser",
    "HttpRequest",
    "HttpResponse",
    "HttpSession",
    "IdentifierTaken",
    "Initializer",
    "Leaderboard",
    "LeaderboardAuthoritative",
    "LeaderboardNotFound",
    "LeaderboardRanksDisabled",
    "LeaderboardRecord",
    "LogAppend",
    "LogBatch",
    "LogEntry",
    "MultiUpdateResult",
    "NakamaError",
    "NakamaModule",
    "Notification",
    "NotificationSend",
    "Operator",
    "RankEntry",
    "RateLimitedError",
    "RecordList",
    "RuntimeLogger",
    "SortOrder",
    "StorageAck",
    "StorageDeleteRejected",
    "StorageObject",
    "StorageObjectId",
    "StoragePermissionDenied",
    "StorageVersionConflict",
    "StorageWrite",
    "TopList",
    "Tournament",
    "UnawaitedNkCall",
    "User",
    "UserGroup",
    "UsernameTaken",
    "WalletLedgerItem",
    "WalletNegativeError",
    "WalletUpdate",
    "WalletUpdateResult",
    "WriteReceipt",
]
