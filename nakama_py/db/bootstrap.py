"""Reaching the configured database before the pool opens: create it when the server lacks it
(as Nakama's ``migrate`` does), or say in one line why it cannot be reached.

The pool would otherwise retry a missing database for its whole open timeout and end in a
``PoolTimeout`` traceback.
"""

from __future__ import annotations

import contextlib
import logging
import time

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from nakama_py.db.address import describe

log = logging.getLogger("nakama_py.db")

# Databases every PostgreSQL server has, to ask whether the configured one exists.
MAINTENANCE_DATABASES = ("postgres", "template1")
CONNECT_TIMEOUT_SEC = 2


class DatabaseUnreachable(Exception):
    """The database cannot be used; ``str()`` is one line naming the address and the reason."""

    def __init__(self, conninfo: str, reason: str, *, retryable: bool) -> None:
        super().__init__(f"cannot connect to the database at {describe(conninfo)}: {reason}")
        self.retryable = retryable


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _database_name(conninfo: str) -> str:
    return str(conninfo_to_dict(conninfo).get("dbname") or "")


def _create_if_missing(conninfo: str, name: str) -> bool | None:
    """True when created, False when it exists, None when the server itself does not answer."""
    for maintenance in MAINTENANCE_DATABASES:
        try:
            conn = psycopg.connect(make_conninfo(conninfo, dbname=maintenance), autocommit=True,
                                   connect_timeout=CONNECT_TIMEOUT_SEC)
        except psycopg.OperationalError:
            continue
        with conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return False
            # Another server starting at the same moment may create it first.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    return None


def ensure_database(conninfo: str) -> bool:
    """Check the database answers, creating it when missing; True when it was created."""
    try:
        psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT_SEC).close()
        return False
    except psycopg.OperationalError as exc:
        first_error = exc
    name = _database_name(conninfo)
    try:
        created = _create_if_missing(conninfo, name) if name else None
    except psycopg.Error as exc:
        raise DatabaseUnreachable(conninfo, f"cannot create database {name!r}: {_one_line(exc)}",
                                  retryable=False) from None
    if created:
        log.info("database created", extra={"fields": {"database": name}})
        return True
    # The server answers and the database exists: the first error (a password, a permission) is final.
    raise DatabaseUnreachable(conninfo, _one_line(first_error), retryable=created is None)


def wait_for_database(conninfo: str, timeout: float) -> bool:
    """``ensure_database``, retrying while the server itself does not answer (it may be starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return ensure_database(conninfo)
        except DatabaseUnreachable as exc:
            if not exc.retryable or time.monotonic() >= deadline:
                raise
            time.sleep(0.5)
