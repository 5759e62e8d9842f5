"""SQL for the web console's users (nakama-py's table ``nakama_py_console_user``)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from nakama_py.db.errors import UniqueViolation
from nakama_py.db.pool import Database


class UsernameTaken(Exception):
    pass


class ConsoleUserRow(NamedTuple):
    id: str
    username: str
    email: str
    role: int
    create_time: datetime
    password: bytes


_SELECT = "SELECT id::text, username, coalesce(email, ''), role, create_time, password FROM nakama_py_console_user"


async def by_username(db: Database, username: str) -> ConsoleUserRow | None:
    return await db.fetchrow_as(ConsoleUserRow._make, _SELECT + " WHERE username = %(username)s",
                                {"username": username})


async def list_all(db: Database) -> list[ConsoleUserRow]:
    return await db.fetch_as(ConsoleUserRow._make, _SELECT + " ORDER BY username")


async def insert(db: Database, user_id: str, username: str, email: str, password: bytes, role: int) -> None:
    try:
        await db.execute("INSERT INTO nakama_py_console_user (id, username, email, password, role)"
                         " VALUES (%(id)s, %(username)s, NULLIF(%(email)s, ''), %(password)s, %(role)s)",
                         {"id": user_id, "username": username, "email": email, "password": password, "role": role})
    except UniqueViolation:
        raise UsernameTaken(username) from None


async def delete(db: Database, username: str) -> bool:
    return await db.execute("DELETE FROM nakama_py_console_user WHERE username = %(username)s",
                            {"username": username}) > 0
