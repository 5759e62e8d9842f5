"""A PostgreSQL database of its own for each test session, dropped at the end."""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from nakama_py.db.embedded import EmbeddedPostgres
from nakama_py.db.migrations import migrate_up
from nakama_py.db.pool import Database

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_admin_url: str | None = None
_embedded: EmbeddedPostgres | None = None


def admin_url() -> str:
    """Where test databases are created: NAKAMA_PY_TEST_PG, else a local PostgreSQL on 5432,
    else (a machine with no PostgreSQL at all) an embedded one kept for this test run."""
    global _admin_url, _embedded
    if _admin_url is None:
        configured = os.environ.get("NAKAMA_PY_TEST_PG")
        if configured:
            _admin_url = configured
        else:
            try:
                psycopg.connect(DEFAULT_ADMIN_URL, connect_timeout=3).close()
                _admin_url = DEFAULT_ADMIN_URL
            except psycopg.OperationalError:
                _embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="nakama-py-test-pg-")))
                _admin_url = with_database(_embedded.start(), "postgres")
                atexit.register(_embedded.stop)
    return _admin_url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(prefix: str = "nakama_py_test") -> str:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin_url(), name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _migrate(url: str) -> None:
    db = Database(url, min_size=1, max_size=2)
    await db.connect()
    try:
        await migrate_up(db)
    finally:
        await db.close()


def migrate(url: str) -> None:
    asyncio.run(_migrate(url))
