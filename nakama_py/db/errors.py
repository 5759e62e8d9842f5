"""Driver errors translated once, at the db boundary, into exceptions the core can name.

Every path out of ``db/`` (the pool's query helpers, ``connection()``/``transaction()``
blocks, functions handed a connection) runs under ``map_errors()``, so no layer above
ever sees a psycopg exception and none imports psycopg. The core catches these by kind
(a unique violation and its constraint, a vanished foreign key, a value the column
refuses) and answers with Nakama's message; a lost database becomes
``DatabaseUnavailable`` (UNAVAILABLE, HTTP 503), which passes through the core untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import TracebackType

import psycopg
from psycopg import errors as pg

from nakama_py.errors import DatabaseUnavailable


class DatabaseError(Exception):
    """A statement failed; ``sqlstate`` and ``constraint`` as the server reported them."""

    def __init__(self, message: str, *, sqlstate: str | None = None, constraint: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.constraint = constraint or ""


class UniqueViolation(DatabaseError):
    """A unique index refused the row; ``constraint`` names it (e.g. ``users_username_key``)."""


class ForeignKeyViolation(DatabaseError):
    """The row refers to a row that does not exist (any more)."""


class ValueRejected(DatabaseError):
    """A value the column cannot take: out of range, malformed, or against a CHECK constraint."""


class TextUnstorable(ValueRejected):
    """Text the database cannot store at all (a ``\\u0000`` escape in JSON, say)."""


class SerializationFailure(DatabaseError):
    """The transaction lost a serialization conflict or a deadlock and was rolled back: run it again."""


# Connection exceptions (class 08) and the server going away; a client-side failure has no state.
_SERVER_GONE = frozenset({"57P01", "57P02", "57P03"})  # admin shutdown, crash shutdown, cannot connect now


def _lost(exc: psycopg.Error) -> bool:
    if not isinstance(exc, psycopg.OperationalError) or isinstance(exc, pg.PipelineAborted):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in _SERVER_GONE


# A constraint violated in a partition is reported under the partition's own index name; callers know the
# partitioned table's (sql/0009: leaderboard_record's day partitions and its epoch partition).
_PARTITION_CONSTRAINTS = ((re.compile(r"leaderboard_record_p(?:\d{8}|_epoch)_pkey"), "leaderboard_record_pkey"),)


def _constraint(name: str | None) -> str | None:
    for pattern, parent in _PARTITION_CONSTRAINTS:
        if name is not None and pattern.fullmatch(name):
            return parent
    return name


def translate(exc: psycopg.Error) -> Exception:
    """The exception to raise instead of a driver error."""
    kind: type[DatabaseError]
    if isinstance(exc, pg.UniqueViolation):
        kind = UniqueViolation
    elif isinstance(exc, pg.ForeignKeyViolation):
        kind = ForeignKeyViolation
    elif isinstance(exc, (pg.SerializationFailure, pg.DeadlockDetected)):
        kind = SerializationFailure
    elif isinstance(exc, pg.UntranslatableCharacter):
        kind = TextUnstorable
    elif isinstance(exc, (psycopg.DataError, pg.CheckViolation)):
        kind = ValueRejected
    elif _lost(exc):
        return DatabaseUnavailable()
    else:
        kind = DatabaseError
    return kind(str(exc), sqlstate=exc.sqlstate, constraint=_constraint(exc.diag.constraint_name))


class _ErrorMap:
    """``with map_errors():`` raises the translation of any driver error leaving the block;
    ``on_unavailable`` is told when that translation is a lost database."""

    __slots__ = ("on_unavailable",)

    def __init__(self, on_unavailable: Callable[[], None] | None = None) -> None:
        self.on_unavailable = on_unavailable

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if isinstance(exc, psycopg.Error):
            translated = translate(exc)
            if self.on_unavailable is not None and isinstance(translated, DatabaseUnavailable):
                self.on_unavailable()
            raise translated from exc


_MAP = _ErrorMap()


def map_errors() -> _ErrorMap:
    return _MAP


def watched_errors(on_unavailable: Callable[[], None]) -> _ErrorMap:
    """A ``map_errors()`` that also calls ``on_unavailable`` when the database is found gone."""
    return _ErrorMap(on_unavailable)
