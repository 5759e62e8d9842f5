"""The web console's users and what each role may do.

``console.username``/``console.password`` is always an admin (as in Nakama); further users
with Nakama's roles live in the database, so every server process and node sees the same set.
"""

from __future__ import annotations

import enum
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime

from nakama_py.config import ConsoleConfig
from nakama_py.core import account_rules
from nakama_py.core.passwords import can_hash, check_password, hash_password
from nakama_py.db import console_users as sql
from nakama_py.db.pool import Database
from nakama_py.errors import Code, NakamaError, invalid_argument, not_found

# Compared against when a username is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = b"$2a$10$zQvIMQ8WFCw5P7q/BS99auotbXN4uhybvPlo3Egni5B00YWyhH.kS"
CONSOLE_HASH_COST = 10  # console sign-ins are rare and rate limited; 13 would stall the page


class Role(enum.IntEnum):
    ADMIN = 1
    DEVELOPER = 2
    MAINTAINER = 3
    READONLY = 4

    @property
    def label(self) -> str:
        return {1: "admin", 2: "developer", 3: "maintainer", 4: "read-only"}[self.value]


class Permission(enum.Enum):
    VIEW = "view"                  # every page
    EDIT_DATA = "edit data"        # accounts, storage, leaderboard records: edit, ban, delete
    CALL_API = "call the API"      # the API explorer
    MANAGE_USERS = "manage console users"


_ALLOWED: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.DEVELOPER: frozenset({Permission.VIEW, Permission.EDIT_DATA, Permission.CALL_API}),
    Role.MAINTAINER: frozenset({Permission.VIEW, Permission.EDIT_DATA}),
    Role.READONLY: frozenset({Permission.VIEW}),
}


def allowed(role: Role, permission: Permission) -> bool:
    return permission in _ALLOWED[role]


def require(role: Role, permission: Permission) -> None:
    if not allowed(role, permission):
        raise NakamaError(f"The {role.label} role may not {permission.value}.", Code.PERMISSION_DENIED)


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    username: str
    role: Role
    email: str = ""
    create_time: datetime | None = None
    configured: bool = False  # console.username, from the configuration


class ConsoleUserService:
    def __init__(self, db: Database, config: ConsoleConfig) -> None:
        self.db = db
        self.config = config

    def _configured_admin(self) -> ConsoleUser:
        return ConsoleUser(self.config.username, Role.ADMIN, configured=True)

    async def authenticate(self, username: str, password: str) -> ConsoleUser | None:
        """The user these credentials belong to, or None."""
        if username == self.config.username:
            ok = hmac.compare_digest(password.encode(), self.config.password.encode())
            return self._configured_admin() if ok else None
        row = await sql.by_username(self.db, username)
        if not await check_password(password, row.password if row else _DUMMY_HASH) or row is None:
            return None
        return ConsoleUser(row.username, Role(row.role), row.email, row.create_time)

    async def get(self, username: str) -> ConsoleUser | None:
        """A signed-in user as they are now (a deleted user's session stops working)."""
        if username == self.config.username:
            return self._configured_admin()
        row = await sql.by_username(self.db, username)
        return None if row is None else ConsoleUser(row.username, Role(row.role), row.email, row.create_time)

    async def list(self) -> list[ConsoleUser]:
        rows = await sql.list_all(self.db)
        return [self._configured_admin()] + [ConsoleUser(r.username, Role(r.role), r.email, r.create_time)
                                             for r in rows]

    async def create(self, username: str, password: str, role: int, email: str = "") -> ConsoleUser:
        username = username.strip()
        if not username or account_rules.is_invalid_username(username) or len(username.encode()) > 128:
            raise invalid_argument("Username invalid, must be 1-128 bytes without spaces or control characters.")
        if username == self.config.username:
            raise NakamaError("Username is already in use.", Code.ALREADY_EXISTS)
        if len(password) < 8 or not can_hash(password):
            raise invalid_argument("Password must be 8-72 bytes.")
        try:
            parsed = Role(int(role))
        except ValueError:
            raise invalid_argument("Role must be 1 (admin), 2 (developer), 3 (maintainer) or 4 (read-only).") from None
        hashed = await hash_password(password, CONSOLE_HASH_COST)
        try:
            await sql.insert(self.db, str(uuid.uuid4()), username, email.strip(), hashed, parsed)
        except sql.UsernameTaken:
            raise NakamaError("Username is already in use.", Code.ALREADY_EXISTS) from None
        return ConsoleUser(username, parsed, email.strip())

    async def delete(self, username: str) -> None:
        if username == self.config.username:
            raise invalid_argument("The configured console.username cannot be deleted.")
        if not await sql.delete(self.db, username):
            raise not_found("Console user not found.")
