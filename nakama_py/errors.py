"""Errors carrying a gRPC status code, shared by the core, the API and the runtime.

The core raises these; the HTTP layer maps the code to a status (see wire/status.py),
and runtime modules raise them from RPCs to answer a client with a chosen code.
"""

from __future__ import annotations

from enum import IntEnum


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
        return f"NakamaError({self.message!r}, {self.code})"


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
