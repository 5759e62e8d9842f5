"""Numbered SQL migrations in ``sql/``, applied in order, each in its own transaction.

A migration file holds an up part and a down part, marked ``-- +migrate Up`` and
``-- +migrate Down`` as in Nakama's own files. Applied migrations are recorded in
``nakama_py_migration``. A PostgreSQL advisory lock makes concurrent runners (several
servers starting at once) take turns, so each migration is applied exactly once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

from nakama_py.db.pool import Database

log = logging.getLogger("nakama_py.migrate")

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LOCK_KEY = 0x6E616B616D6170  # "nakamap": one lock for every migration runner
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_MARK = re.compile(r"^--\s*\+migrate\s+(Up|Down)\s*$", re.MULTILINE)


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    id: str
    up: str
    down: str
    checksum: str


@dataclass(frozen=True)
class MigrationStatus:
    id: str
    applied_at: datetime | None


def load_migrations(directory: Path = SQL_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        if not _FILE.match(path.name):
            raise MigrationError(f"migration file name {path.name!r} is not NNNN_name.sql")
        text = path.read_text(encoding="utf-8")
        parts = _MARK.split(text)
        sections = dict(zip(parts[1::2], parts[2::2], strict=True))
        if set(sections) != {"Up", "Down"}:
            raise MigrationError(f"{path.name}: needs one '-- +migrate Up' and one '-- +migrate Down' part")
        migrations.append(Migration(
            id=path.stem,
            up=sections["Up"].strip(),
            down=sections["Down"].strip(),
            checksum=hashlib.sha256(text.encode()).hexdigest(),
        ))
    return migrations


async def _ensure_table(conn: AsyncConnection[Any]) -> None:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS nakama_py_migration ("
        " id TEXT NOT NULL CONSTRAINT nakama_py_migration_pkey PRIMARY KEY,"
        " checksum TEXT NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )


async def _applied(conn: AsyncConnection[Any]) -> dict[str, tuple[str, datetime]]:
    cur = await conn.execute("SELECT id, checksum, applied_at FROM nakama_py_migration")
    return {row[0]: (row[1], row[2]) for row in await cur.fetchall()}


class _Locked:
    """Holds the migration advisory lock on one connection for the duration of a run."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __aenter__(self) -> AsyncConnection[Any]:
        self._cm = self.db.connection()
        self.conn = await self._cm.__aenter__()
        await self.conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        await _ensure_table(self.conn)
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        finally:
            await self._cm.__aexit__(*exc)  # type: ignore[arg-type]


async def migrate_up(db: Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every pending migration; the ids applied by this call."""
    migrations = load_migrations() if migrations is None else migrations
    done: list[str] = []
    async with _Locked(db) as conn:
        applied = await _applied(conn)
        for migration in migrations:
            if migration.id in applied:
                if applied[migration.id][0] != migration.checksum:
                    log.warning("applied migration file has changed since",
                                extra={"fields": {"migration": migration.id}})
                continue
            async with conn.transaction():
                await conn.execute(migration.up.encode())
                await conn.execute(
                    "INSERT INTO nakama_py_migration (id, checksum) VALUES (%s, %s)",
                    (migration.id, migration.checksum),
                )
            log.info("migration applied", extra={"fields": {"migration": migration.id}})
            done.append(migration.id)
    return done


async def migrate_down(db: Database, limit: int = 1, migrations: list[Migration] | None = None) -> list[str]:
    """Roll back the ``limit`` most recent applied migrations; the ids rolled back."""
    migrations = load_migrations() if migrations is None else migrations
    by_id = {m.id: m for m in migrations}
    undone: list[str] = []
    async with _Locked(db) as conn:
        applied = sorted(await _applied(conn), reverse=True)
        for migration_id in applied[:max(limit, 0)]:
            migration = by_id.get(migration_id)
            if migration is None:
                raise MigrationError(f"applied migration {migration_id} has no file to roll it back")
            async with conn.transaction():
                await conn.execute(migration.down.encode())
                await conn.execute("DELETE FROM nakama_py_migration WHERE id = %s", (migration_id,))
            log.info("migration rolled back", extra={"fields": {"migration": migration_id}})
            undone.append(migration_id)
    return undone


async def migration_status(db: Database, migrations: list[Migration] | None = None) -> list[MigrationStatus]:
    migrations = load_migrations() if migrations is None else migrations
    async with db.connection() as conn:
        await _ensure_table(conn)
        applied = await _applied(conn)
    return [MigrationStatus(m.id, applied[m.id][1] if m.id in applied else None) for m in migrations]
