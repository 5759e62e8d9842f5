"""Errors a socket handler answers with: an ``error`` envelope carrying rtapi ``Error.Code``."""

from __future__ import annotations

from enum import IntEnum

from nakama_py.errors import Code, NakamaError


class ErrorCode(IntEnum):
    RUNTIME_EXCEPTION = 0
    UNRECOGNIZED_PAYLOAD = 1
    MISSING_PAYLOAD = 2
    BAD_INPUT = 3
    MATCH_NOT_FOUND = 4
    MATCH_JOIN_REJECTED = 5
    RUNTIME_FUNCTION_NOT_FOUND = 6
    RUNTIME_FUNCTION_EXCEPTION = 7


class RealtimeError(Exception):
    def __init__(self, code: ErrorCode, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close = close  # Nakama disconnects a client that sends what it cannot understand


def bad_input(message: str) -> RealtimeError:
    return RealtimeError(ErrorCode.BAD_INPUT, message)


def from_core(exc: NakamaError) -> RealtimeError:
    """A rule broken in core: the client's input unless the server failed."""
    if exc.code in (Code.INTERNAL, Code.UNKNOWN):
        return RealtimeError(ErrorCode.RUNTIME_EXCEPTION, exc.message)
    return bad_input(exc.message)
