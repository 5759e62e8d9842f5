"""Which tokens have been revoked (logout, account deletion, ban).

The source of truth is the database, so revocations survive restarts and reach
every server process; each process mirrors the live ones in memory so that a
token check costs no database round trip. A process publishes each revocation it stores
on the cluster bus, whole, so the others apply it without a round trip; after a lost bus
connection the mirror is reloaded. A process that dies between storing a revocation and
publishing it leaves the others unaware until they next reload (their next reconnection).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from nakama_py.cluster.bus import BusUnavailable, ClusterBus
from nakama_py.core.tokens import SessionClaims
from nakama_py.db import session_revocations as sql
from nakama_py.db.pool import Database

log = logging.getLogger("nakama_py.sessions")

TOPIC = "nakama_py_revocation"
ALL, SESSION, REFRESH = 0, 1, 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
ECHO_WAIT_SEC = 1.0


def encode(row: sql.RevocationRow) -> bytes:
    """The whole revocation, so a receiving process applies it at once, without a round trip to fetch it."""
    revocation_id, user_id, kind, token_id, revoked_at, expires_at = row
    return (f"{revocation_id}|{user_id}|{kind}|{token_id or ''}"
            f"|{(revoked_at - _EPOCH) // _MICROSECOND}|{(expires_at - _EPOCH) // _MICROSECOND}").encode()


def decode(payload: bytes) -> sql.RevocationRow | int | None:
    """A revocation from ``encode``; a bare id (older senders) to fetch; None when unreadable."""
    parts = payload.decode(errors="replace").split("|")
    try:
        if len(parts) == 1:
            return int(parts[0])
        revocation_id, user_id, kind, token_id, revoked_us, expires_us = parts
        return sql.RevocationRow(int(revocation_id), user_id, int(kind), token_id or None,
                                 _EPOCH + int(revoked_us) * _MICROSECOND, _EPOCH + int(expires_us) * _MICROSECOND)
    except ValueError:
        return None


@dataclass
class _UserRevocations:
    all_before_us: int = 0  # tokens issued up to this moment (unix microseconds) are revoked
    session_ids: dict[str, float] = field(default_factory=dict)  # token id -> expiry (unix s)
    refresh_ids: dict[str, float] = field(default_factory=dict)


class SessionRevocations:
    """``bus``: how the other processes hear of revocations (None: a process alone)."""

    def __init__(self, db: Database, refresh_lifetime_sec: int, bus: ClusterBus | None = None) -> None:
        self.db = db
        self.refresh_lifetime_sec = refresh_lifetime_sec
        self.bus = bus
        self._users: dict[str, _UserRevocations] = {}
        self._seen: set[int] = set()
        self._notified: set[int] = set()
        self._waiters: dict[int, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        if bus is not None:
            # With its echo: hearing its own revocation back tells a process every other has been sent it.
            bus.subscribe(TOPIC, self._on_message, resync=self.reload)

    # --- checks on the hot path ------------------------------------------

    def _revoked(self, claims: SessionClaims, kind: int) -> bool:
        entry = self._users.get(claims.user_id)
        if entry is None:
            return False
        if claims.issued_us <= entry.all_before_us:
            return True
        ids = entry.session_ids if kind == SESSION else entry.refresh_ids
        return claims.token_id in ids

    def session_revoked(self, claims: SessionClaims) -> bool:
        return self._revoked(claims, SESSION)

    def refresh_revoked(self, claims: SessionClaims) -> bool:
        return self._revoked(claims, REFRESH)

    # --- applying revocations -----------------------------------------------

    def _apply(self, row: sql.RevocationRow) -> None:
        revocation_id, user_id, kind, token_id, revoked_at, expires_at = row
        self._seen.add(revocation_id)
        entry = self._users.setdefault(user_id, _UserRevocations())
        if kind == ALL:
            entry.all_before_us = max(entry.all_before_us, (revoked_at - _EPOCH) // _MICROSECOND)
        elif token_id:
            target = entry.session_ids if kind == SESSION else entry.refresh_ids
            target[token_id] = expires_at.timestamp()

    async def revoke(self, user_id: str, *, session: SessionClaims | None = None,
                     refresh: SessionClaims | None = None) -> None:
        """Revoke the given tokens, or every token of the user when neither is given."""
        rows: list[tuple[str, int, str | None, datetime]] = []
        if session is not None:
            rows.append((user_id, SESSION, session.token_id, datetime.fromtimestamp(session.expires_at, UTC)))
        if refresh is not None:
            rows.append((user_id, REFRESH, refresh.token_id, datetime.fromtimestamp(refresh.expires_at, UTC)))
        if session is None and refresh is None:
            until = datetime.now(UTC) + timedelta(seconds=self.refresh_lifetime_sec + 1)
            rows.append((user_id, ALL, None, until))
        await self._store(rows)

    async def revoke_all(self, user_ids: list[str]) -> None:
        until = datetime.now(UTC) + timedelta(seconds=self.refresh_lifetime_sec + 1)
        await self._store([(user_id, ALL, None, until) for user_id in user_ids])

    async def _store(self, rows: list[tuple[str, int, str | None, datetime]]) -> None:
        loop = asyncio.get_running_loop()
        stored = await sql.insert_revocations(self.db, rows)
        for row in stored:
            self._apply(row)
        if self.bus is None:
            return
        pending = []
        for row in stored:
            if row[0] not in self._notified:
                future: asyncio.Future[None] = loop.create_future()
                self._waiters[row[0]] = future
                pending.append(future)
        try:
            await asyncio.gather(*(self.bus.publish(TOPIC, encode(row)) for row in stored))
            # Wait (briefly) for our own message to come back: by then the bus has delivered it to
            # every process, and each applies it as soon as it reads it, normally within milliseconds.
            if pending:
                await asyncio.wait(pending, timeout=ECHO_WAIT_SEC)
        except BusUnavailable as exc:
            log.error("revocation stored but not published; other processes learn of it at their next reload",
                      extra={"fields": {"error": str(exc)}})
        finally:
            for row in stored:
                self._waiters.pop(row[0], None)

    # --- keeping the mirror current ----------------------------------------

    def _on_message(self, payload: bytes) -> None:
        parsed = decode(payload)
        if parsed is None:
            return
        revocation_id = parsed if isinstance(parsed, int) else parsed[0]
        self._notified.add(revocation_id)
        waiter = self._waiters.pop(revocation_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if revocation_id in self._seen:
            return
        if not isinstance(parsed, int):
            # Applied here and now, without a round trip to fetch it: the time in which this
            # process still accepts a token revoked elsewhere is only the notification's delivery.
            self._apply(parsed)
        else:
            task = asyncio.get_running_loop().create_task(self._fetch_and_apply(revocation_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _fetch_and_apply(self, revocation_id: int) -> None:
        row = await sql.revocation_by_id(self.db, revocation_id)
        if row is not None:
            self._apply(row)

    async def reload(self) -> None:
        rows = await sql.live_revocations(self.db)
        self._users.clear()
        self._seen.clear()
        for row in rows:
            self._apply(row)
        log.debug("revocations loaded", extra={"fields": {"count": len(rows)}})

    async def prune(self) -> int:
        """Forget revocations whose tokens have expired anyway, here and in the database."""
        now = time.time()
        self._notified.clear()
        horizon_us = int(now * 1_000_000) - (self.refresh_lifetime_sec + 1) * 1_000_000
        for user_id in list(self._users):
            entry = self._users[user_id]
            entry.session_ids = {k: v for k, v in entry.session_ids.items() if v > now}
            entry.refresh_ids = {k: v for k, v in entry.refresh_ids.items() if v > now}
            if entry.all_before_us < horizon_us:
                entry.all_before_us = 0
            if not entry.session_ids and not entry.refresh_ids and not entry.all_before_us:
                del self._users[user_id]
        return await sql.delete_expired(self.db)
