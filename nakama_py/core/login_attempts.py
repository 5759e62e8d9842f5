"""Nakama's login attempt limits, for every process and node of the cluster.

As Nakama's login attempt cache: a failed sign-in counts against the account (when one was found)
and against the client address; ``login_max_attempts_*`` failures inside the window lock the key
for the window, and a locked key answers RESOURCE_EXHAUSTED "Try again later." before any password
is checked. A successful sign-in clears the account's failures (not the address's).

Where the state lives: failures are counted in the database (``nakama_py_login_attempt``, on the
database's clock), so failures through any process add up. The lock a failure sets is published on
the cluster bus and every process keeps the locks in memory: checking costs a successful sign-in no
query. A process (re)loads the active locks from the database when it starts and whenever its bus
reconnects (messages sent meanwhile are lost), and also learns a lock from its own failures, which
the database answers with the key's lock.

A player cannot be locked out for good: a lock ends one window after the failure that set it, and
refused attempts are not counted, so they neither lengthen it nor start a new one; one address can
keep an account locked for at most the account window out of each address window. The loopback
address is never locked: it is what every client looks like behind a local proxy that sends no
X-Forwarded-For, and locking it would lock everyone out.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from datetime import timedelta

import orjson

from nakama_py.cluster.bus import ClusterBus
from nakama_py.config import SessionConfig
from nakama_py.db import login_attempts as sql
from nakama_py.db.errors import DatabaseError
from nakama_py.db.pool import Database
from nakama_py.errors import Code, NakamaError

log = logging.getLogger("nakama_py.accounts")

TRY_AGAIN_LATER = "Try again later."
TOPIC = "login_lock"
# Locks held in memory at most (an attacker rotating addresses makes many); past it the ones ending
# first are dropped after the expired ones. A dropped lock still holds at the attacker's next failure.
MAX_LOCKS = 100_000

Key = tuple[str, str]  # (scope, key): ("account", user ID), ("console", console user name) or ("ip", address)


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
    """One client sign-in's view of the limits: checked before the password, told how it ended."""

    __slots__ = ("_account", "_ip", "_limits", "_scope")

    def __init__(self, limits: LoginAttempts, ip: str | None, scope: str) -> None:
        self._limits = limits
        self._ip = ip
        self._scope = scope
        self._account: str | None = None

    def locked_for(self, account: str | None = None) -> float:
        """Seconds until the address, or the account once known, may sign in again; 0: now."""
        self._account = account
        limits = self._limits
        wait = 0.0
        if self._ip is not None and limits.ip_on:
            wait = limits.locked_for(("ip", self._ip))
        if account is not None and limits.account_on:
            wait = max(wait, limits.locked_for((self._scope, account)))
        return wait

    def check(self, account: str | None = None) -> None:
        """Refuse when the address, or the account (a user ID) once known, is locked."""
        if self.locked_for(account) > 0:
            raise NakamaError(TRY_AGAIN_LATER, Code.RESOURCE_EXHAUSTED)

    async def failed(self) -> None:
        limits = self._limits
        config = limits.config
        if self._account is not None and limits.account_on:
            await limits.record((self._scope, self._account), config.login_max_attempts_account,
                                limits.account_window)
        if self._ip is not None and limits.ip_on:
            await limits.record(("ip", self._ip), config.login_max_attempts_ip, limits.ip_window)

    async def succeeded(self) -> None:
        if self._account is not None and self._limits.account_on:
            await self._limits.reset((self._scope, self._account))


class LoginAttempts:
    """``bus``: how the other processes hear of locks (None: a process alone)."""

    def __init__(self, db: Database, config: SessionConfig, bus: ClusterBus | None = None) -> None:
        self.db = db
        self.config = config
        self.bus = bus
        self.account_on = config.login_max_attempts_account > 0
        self.ip_on = config.login_max_attempts_ip > 0
        self.account_window = timedelta(seconds=config.login_lockout_account_sec)
        self.ip_window = timedelta(seconds=config.login_lockout_ip_sec)
        self.keep = max(self.account_window, self.ip_window)
        self._locks: dict[Key, float] = {}  # key -> monotonic time its lock ends
        if bus is not None:
            bus.subscribe(TOPIC, self._on_message, resync=self.reload)

    def attempt(self, client_ip: str | None) -> Attempt:
        """A player's sign-in (accounts are user IDs)."""
        return Attempt(self, limited_address(client_ip), "account")

    def console_attempt(self, client_ip: str | None) -> Attempt:
        """An operator's console sign-in (accounts are console user names), as Nakama's console."""
        return Attempt(self, limited_address(client_ip), "console")

    # --- the in-memory locks -----------------------------------------------------------------

    def locked_for(self, key: Key) -> float:
        until = self._locks.get(key)
        if until is None:
            return 0.0
        wait = until - time.monotonic()
        if wait > 0:
            return wait
        del self._locks[key]
        return 0.0

    def _lock(self, key: Key, remaining_sec: float) -> None:
        if remaining_sec <= 0:
            return
        now = time.monotonic()
        if key not in self._locks and len(self._locks) >= MAX_LOCKS:
            for stale in [k for k, until in self._locks.items() if until <= now]:
                del self._locks[stale]
            while len(self._locks) >= MAX_LOCKS:
                del self._locks[min(self._locks, key=self._locks.__getitem__)]
        self._locks[key] = max(self._locks.get(key, 0.0), now + remaining_sec)

    def _on_message(self, payload: bytes) -> None:
        try:
            message = orjson.loads(payload)
            scope, key, remaining = str(message["s"]), str(message["k"]), float(message["t"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("ignored a malformed login lock message")
            return
        self._lock((scope, key), remaining)

    async def reload(self) -> None:
        """The locks active now, from the database (start, and every bus reconnection)."""
        rows = await sql.active_locks(self.db, MAX_LOCKS)
        self._locks.clear()
        for row in rows:
            self._lock((row.scope, row.key), row.remaining_sec)

    # --- counting (the database) -------------------------------------------------------------

    async def record(self, key: Key, max_attempts: int, window: timedelta) -> None:
        scope, value = key
        try:
            remaining = await sql.record_failure(self.db, scope, value, max_attempts, window, self.keep)
        except DatabaseError:
            # The caller is refused anyway; a failure not counted is not worth a 500.
            log.exception("error recording a failed sign-in")
            return
        if remaining <= 0:
            return
        newly = self.locked_for(key) == 0
        self._lock(key, remaining)
        if not newly:
            return
        log.info("sign-ins locked after failures", extra={"fields": {
            "scope": scope, {"account": "user_id", "console": "username"}.get(scope, "client_ip"): value,
            "seconds": round(remaining)}})
        if self.bus is not None:
            try:
                await self.bus.publish(TOPIC, orjson.dumps({"s": scope, "k": value, "t": remaining}))
            except ConnectionError:
                # The others learn it at their next reload or at their own next failure for the key.
                log.warning("could not publish a login lock", extra={"fields": {"scope": scope}})

    async def reset(self, key: Key) -> None:
        try:
            await sql.reset_account(self.db, *key)
        except DatabaseError:
            log.exception("error clearing failed sign-ins")
