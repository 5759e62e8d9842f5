"""Errors carrying a gRPC status code, shared by the core, the API and the runtime.

The core raises these; the HTTP layer maps the code to a status (see wire/status.py),
and runtime modules raise them from RPCs to answer a client with a chosen code.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal


class Code(IntEnum):
    """gRPC status codes, as Nakama uses them."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class NakamaError(Exception):
    """An error a client sees as ``{"code": code, "message": message}``.

    Codes outside 1..16 are answered as 13 (Internal), as Nakama does.
    """

    def __init__(self, message: str, code: int = Code.INTERNAL) -> None:
        super().__init__(message)
        self.message = message
        self.code = int(code) if Code.CANCELLED <= int(code) <= Code.UNAUTHENTICATED else int(Code.INTERNAL)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, {self.code})"


def invalid_argument(message: str) -> NakamaError:
    return NakamaError(message, Code.INVALID_ARGUMENT)


def not_found(message: str) -> NakamaError:
    return NakamaError(message, Code.NOT_FOUND)


def permission_denied(message: str) -> NakamaError:
    return NakamaError(message, Code.PERMISSION_DENIED)


def unauthenticated(message: str) -> NakamaError:
    return NakamaError(message, Code.UNAUTHENTICATED)


def internal(message: str) -> NakamaError:
    return NakamaError(message, Code.INTERNAL)


class RateLimitedError(NakamaError):
    """Too many calls; ``retry_after`` says in how many seconds one would be accepted."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, Code.RESOURCE_EXHAUSTED)
        self.retry_after = retry_after


# --- typed errors: what module authors catch (each carries Nakama's exact message and code) ---


class DatabaseUnavailable(NakamaError):
    """The database could not be reached (connection lost, none free in time, server shutting
    down). Nothing is known to have been written; the call may be retried."""

    MESSAGE = "Database unavailable."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE, Code.UNAVAILABLE)


class StorageVersionConflict(NakamaError):
    """A conditional storage write lost: the object's version differs, a create-only write found
    an object, or an if-match write found none. The whole batch was rolled back."""

    MESSAGE = "Storage write rejected - version check failed."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE, Code.INVALID_ARGUMENT)


class StoragePermissionDenied(NakamaError):
    """A client wrote an object it may not write (another owner's, or one with write permission 0)."""

    MESSAGE = "Storage write rejected - permission denied."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE, Code.INVALID_ARGUMENT)


class StorageDeleteRejected(NakamaError):
    """A delete found no object, the wrong version, or an object the caller may not delete."""

    MESSAGE = "Storage delete rejected - not found, version check failed, or permission denied."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE, Code.INVALID_ARGUMENT)


class LeaderboardNotFound(NakamaError):
    MESSAGE = "Leaderboard not found."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE, Code.NOT_FOUND)


class LeaderboardAuthoritative(NakamaError):
    """A client tried to write (``action="submissions"``) or delete (``"deletions"``) a score on an
    authoritative board; only the runtime may."""

    def __init__(self, action: Literal["submissions", "deletions"] = "submissions") -> None:
        super().__init__(f"Leaderboard only allows authoritative score {action}.", Code.PERMISSION_DENIED)


class LeaderboardRanksDisabled(NakamaError):
    def __init__(self, leaderboard_id: str) -> None:
        super().__init__(f"Leaderboard {leaderboard_id!r} has ranks disabled.", Code.FAILED_PRECONDITION)
        self.leaderboard_id = leaderboard_id


class BucketNotLoaded(NakamaError):
    """``top``/``rank_of`` asked about a past bucket that is not in memory: ``await
    load_bucket(id, expiry)`` first. The current bucket of a ranked board always is."""

    def __init__(self, leaderboard_id: str, expiry: int) -> None:
        super().__init__(f"Ranks of leaderboard {leaderboard_id!r} for expiry {expiry} are not loaded.",
                         Code.FAILED_PRECONDITION)
        self.leaderboard_id = leaderboard_id
        self.expiry = expiry


class BucketWarming(BucketNotLoaded):
    """``top``/``rank_of`` asked about a bucket whose ranks are still being read at start-up: absent is
    not empty. ``read_top``/``read_rank`` answer from the database meanwhile."""


class AccountNotFound(NakamaError):
    """No such user (sign-in without create, a refresh of a deleted user, an account read)."""

    def __init__(self, message: str = "User account not found.") -> None:
        super().__init__(message, Code.NOT_FOUND)


class AccountBanned(NakamaError):
    MESSAGE = "User account banned."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE, Code.PERMISSION_DENIED)


class UsernameTaken(NakamaError):
    MESSAGE = "Username is already in use."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE, Code.ALREADY_EXISTS)


class IdentifierTaken(NakamaError):
    """Linking a custom ID, email or device that another account holds."""

    def __init__(self, message: str) -> None:
        super().__init__(message, Code.ALREADY_EXISTS)


class WalletNegativeError(NakamaError):
    """The update would take a balance below zero; nothing was changed."""

    def __init__(self, user_id: str, path: str, current: int, amount: int) -> None:
        super().__init__(f"wallet update rejected negative value at path '{path}'", Code.FAILED_PRECONDITION)
        self.user_id = user_id
        self.path = path
        self.current = current
        self.amount = amount


class MatchNotFound(NakamaError):
    """No running match has this id (ended, never created, or on a process that left the cluster)."""

    def __init__(self) -> None:
        super().__init__("match not found", Code.NOT_FOUND)


class MatchBusy(NakamaError):
    """The match did not take the call: its queue was full, or it did not answer in time."""

    def __init__(self) -> None:
        super().__init__("match busy", Code.UNAVAILABLE)
