"""Nakama's login attempt limits, shared by every process and node through the database.

As Nakama's login attempt cache: a failed sign-in counts against the account (when one was found)
and against the client address; ``login_max_attempts_*`` failures inside the window lock the key
for the window, and a locked key answers RESOURCE_EXHAUSTED "Try again later." before any password
is checked. A successful sign-in clears the account's failures (not the address's).

A player cannot be locked out for good: a lock ends one window after the failure that set it, and
refused attempts are not counted, so they neither lengthen it nor start a new one; one address can
keep an account locked for at most the account window out of each address window. The loopback
address is never locked: it is what every client looks like behind a local proxy that sends no
X-Forwarded-For, and locking it would lock everyone out.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import timedelta

from nakama_py.config import SessionConfig
from nakama_py.db import login_attempts as sql
from nakama_py.db.errors import DatabaseError
from nakama_py.db.pool import Database
from nakama_py.errors import Code, NakamaError, internal

log = logging.getLogger("nakama_py.accounts")

TRY_AGAIN_LATER = "Try again later."


def limited_address(ip: str | None) -> str | None:
    """The address to count failures against; None for an unknown or loopback one."""
    if not ip:
        return None
    try:
        if ipaddress.ip_address(ip).is_loopback:
            return None
    except ValueError:
        return None
    return ip


class Attempt:
    """One sign-in's view of the limits: checked before the password, told how it ended."""

    __slots__ = ("_account", "_account_tracked", "_ip", "_limits")

    def __init__(self, limits: LoginAttempts, ip: str | None) -> None:
        self._limits = limits
        self._ip = ip
        self._account: str | None = None
        self._account_tracked = False

    async def check(self, account: str | None = None) -> None:
        """Refuse when the address, or the account (a user ID) once known, is locked."""
        self._account = account
        limits = self._limits
        account_key = account if limits.account_on else None
        ip_key = self._ip if limits.ip_on else None
        if account_key is None and ip_key is None:
            return
        try:
            rows = await sql.lockouts(limits.db, account_key, ip_key)
        except DatabaseError:
            log.exception("error reading login attempts")
            raise internal("Error finding user account.") from None
        self._account_tracked = any(row.scope == "account" for row in rows)
        if any(row.locked_for_sec > 0 for row in rows):
            raise NakamaError(TRY_AGAIN_LATER, Code.RESOURCE_EXHAUSTED)

    async def failed(self) -> None:
        limits = self._limits
        config = limits.config
        try:
            if self._account is not None and limits.account_on and await sql.record_failure(
                    limits.db, "account", self._account, config.login_max_attempts_account,
                    limits.account_window, limits.keep):
                log.info("account locked after failed sign-ins", extra={"fields": {
                    "user_id": self._account, "seconds": config.login_lockout_account_sec}})
            if self._ip is not None and limits.ip_on and await sql.record_failure(
                    limits.db, "ip", self._ip, config.login_max_attempts_ip, limits.ip_window, limits.keep):
                log.info("client address locked after failed sign-ins", extra={"fields": {
                    "client_ip": self._ip, "seconds": config.login_lockout_ip_sec}})
        except DatabaseError:
            # The caller is refused anyway; a failure not counted is not worth a 500.
            log.exception("error recording a failed sign-in")

    async def succeeded(self) -> None:
        if self._account is None or not self._account_tracked:
            return
        try:
            await sql.reset_account(self._limits.db, self._account)
        except DatabaseError:
            log.exception("error clearing failed sign-ins")


class LoginAttempts:
    def __init__(self, db: Database, config: SessionConfig) -> None:
        self.db = db
        self.config = config
        self.account_on = config.login_max_attempts_account > 0
        self.ip_on = config.login_max_attempts_ip > 0
        self.account_window = timedelta(seconds=config.login_lockout_account_sec)
        self.ip_window = timedelta(seconds=config.login_lockout_ip_sec)
        self.keep = max(self.account_window, self.ip_window)

    def attempt(self, client_ip: str | None) -> Attempt:
        return Attempt(self, limited_address(client_ip))
