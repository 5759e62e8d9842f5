"""A PostgreSQL database of its own for each test session, dropped at the end."""

from __future__ import annotations

import asyncio
import os
import secrets
from urllib.parse import urlsplit, urlunsplit

import psycopg

from nakama_py.db.migrations import migrate_up
from nakama_py.db.pool import Database

ADMIN_URL = os.environ.get("NAKAMA_PY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(prefix: str = "nakama_py_test") -> str:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(ADMIN_URL, name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _migrate(url: str) -> None:
    db = Database(url, min_size=1, max_size=2)
    await db.open()
    try:
        await migrate_up(db)
    finally:
        await db.close()


def migrate(url: str) -> None:
    asyncio.run(_migrate(url))
