"""SQL for the web console's users (nakama-py's table ``nakama_py_console_user``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.errors import UniqueViolation

from nakama_py.db.pool import Database


class UsernameTaken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ConsoleUserRow:
    id: str
    username: str
    email: str
    role: int
    create_time: datetime
    password: bytes


_COLUMNS = "id::text, username, coalesce(email, ''), role, create_time, password"


def _row(row: tuple[Any, ...]) -> ConsoleUserRow:
    return ConsoleUserRow(str(row[0]), str(row[1]), str(row[2]), int(row[3]), row[4], bytes(row[5]))


async def by_username(db: Database, username: str) -> ConsoleUserRow | None:
    row = await db.fetchrow("SELECT " + _COLUMNS + " FROM nakama_py_console_user WHERE username = %s", (username,))
    return None if row is None else _row(row)


async def list_all(db: Database) -> list[ConsoleUserRow]:
    return [_row(row) for row in await db.fetch("SELECT " + _COLUMNS + " FROM nakama_py_console_user"
                                                  " ORDER BY username")]


async def insert(db: Database, user_id: str, username: str, email: str, password: bytes, role: int) -> None:
    try:
        await db.execute("INSERT INTO nakama_py_console_user (id, username, email, password, role)"
                         " VALUES (%s, %s, NULLIF(%s, ''), %s, %s)", (user_id, username, email, password, role))
    except UniqueViolation:
        raise UsernameTaken(username) from None


async def delete(db: Database, username: str) -> bool:
    return await db.execute("DELETE FROM nakama_py_console_user WHERE username = %s", (username,)) > 0
