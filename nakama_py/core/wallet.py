"""Wallets: integer balances per currency in ``users.wallet``, changed atomically, with a ledger.

An update adds each amount of its changeset to the user's balance. Every user's
wallet is row-locked for the transaction, all changes are computed first, and a
balance that would go below zero rejects the whole call (unless the caller allows
it), so nothing is ever half-applied. Each update also writes one ledger row
(changeset + metadata) unless told not to.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from nakama_py.db import wallet as sql
from nakama_py.db.pool import Connection, Database
from nakama_py.errors import AccountNotFound, Code, NakamaError, WalletNegativeError, invalid_argument

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
LEDGER_LIMIT_MAX = 100


@dataclass(frozen=True, slots=True)
class WalletUpdate:
    user_id: str
    changeset: Mapping[str, int]
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WalletUpdateResult:
    user_id: str
    updated: dict[str, int]     # the balances after the update
    previous: dict[str, int]    # the balances before it


@dataclass(frozen=True, slots=True)
class WalletLedgerItem:
    id: str
    user_id: str
    changeset: dict[str, int]
    metadata: dict[str, Any]
    create_time: datetime
    update_time: datetime


def valid_user_id(user_id: str) -> str:
    try:
        return str(uuid.UUID(str(user_id)))
    except ValueError:
        raise invalid_argument("expects a valid user id") from None


def _check_changeset(changeset: Mapping[str, int]) -> None:
    if not isinstance(changeset, Mapping):
        raise invalid_argument("expects changeset to be a mapping of currency to integer amount")
    for key, amount in changeset.items():
        if not isinstance(key, str) or not key:
            raise invalid_argument("expects changeset keys to be non-empty strings")
        if not isinstance(amount, int) or isinstance(amount, bool) or not INT64_MIN <= amount <= INT64_MAX:
            raise invalid_argument(f"expects changeset value at path '{key}' to be a 64-bit integer")


def _balances(raw: Any, user_id: str) -> dict[str, int]:
    if isinstance(raw, str):
        raw = orjson.loads(raw)
    if not isinstance(raw, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw.values()):
        raise NakamaError(f"wallet of user {user_id} is not an object of integer balances", Code.INTERNAL)
    return dict(raw)


class WalletService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def update(self, updates: Sequence[WalletUpdate], *, update_ledger: bool = True,
                     allow_negative: bool = False, conn: Connection | None = None,
                     ) -> list[WalletUpdateResult]:
        """Apply every update or none. Users that do not exist are skipped (no result), as in Nakama.

        ``conn``: run inside that caller-owned transaction (``multi_update``).
        """
        if not updates:
            return []
        ids = []
        for update in updates:
            ids.append(valid_user_id(update.user_id))
            _check_changeset(update.changeset)
        if conn is not None:
            return await self._apply(conn, updates, ids, update_ledger, allow_negative)
        async with self.db.transaction() as own:
            return await self._apply(own, updates, ids, update_ledger, allow_negative)

    async def _apply(self, conn: Connection, updates: Sequence[WalletUpdate], ids: list[str],
                     update_ledger: bool, allow_negative: bool) -> list[WalletUpdateResult]:
        wallets = {user_id: _balances(raw, user_id) for user_id, raw in (await sql.lock_wallets(conn, ids)).items()}
        results: list[WalletUpdateResult] = []
        ledger: list[sql.LedgerEntry] = []
        for update, user_id in zip(updates, ids, strict=True):
            balances = wallets.get(user_id)
            if balances is None:
                continue
            previous = dict(balances)
            for key, amount in update.changeset.items():
                current = balances.get(key, 0)
                value = current + amount
                if value < 0 and not allow_negative:
                    raise WalletNegativeError(user_id, key, current, amount)
                if not INT64_MIN <= value <= INT64_MAX:
                    raise NakamaError(f"wallet update overflows at path '{key}'", Code.OUT_OF_RANGE)
                balances[key] = value
            results.append(WalletUpdateResult(user_id, dict(balances), previous))
            if update_ledger:
                ledger.append(sql.LedgerEntry(str(uuid.uuid4()), user_id, orjson.dumps(dict(update.changeset)).decode(),
                                              orjson.dumps(dict(update.metadata or {})).decode()))
        if results:
            await sql.write_wallets(conn, [(r.user_id, orjson.dumps(wallets[r.user_id]).decode())
                                           for r in {r.user_id: r for r in results}.values()])
        if ledger:
            await sql.insert_ledger(conn, ledger)
        return results

    async def update_one(self, user_id: str, changeset: Mapping[str, int], metadata: Mapping[str, Any] | None = None,
                         *, update_ledger: bool = True, allow_negative: bool = False) -> WalletUpdateResult:
        results = await self.update([WalletUpdate(user_id, changeset, metadata or {})],
                                    update_ledger=update_ledger, allow_negative=allow_negative)
        if not results:
            raise AccountNotFound("user not found")
        return results[0]

    async def ledger_list(self, user_id: str, limit: int = 100,
                          cursor: str | None = None) -> tuple[list[WalletLedgerItem], str | None]:
        """A user's ledger, newest first; the cursor continues where a page ended (None: no more)."""
        user_id = valid_user_id(user_id)
        if not isinstance(limit, int) or not 0 <= limit <= LEDGER_LIMIT_MAX:
            raise invalid_argument("expects limit to be 0-100")
        after = _decode_cursor(cursor, user_id) if cursor else None
        fetch = limit or LEDGER_LIMIT_MAX
        rows = await sql.list_ledger(self.db, user_id, fetch + 1, after)
        items = [WalletLedgerItem(row.id, user_id, dict(row.changeset), dict(row.metadata), row.create_time,
                                  row.update_time) for row in rows[:fetch]]
        next_cursor = _encode_cursor(user_id, items[-1]) if len(rows) > fetch else None
        return items, next_cursor


def _encode_cursor(user_id: str, last: WalletLedgerItem) -> str:
    data = orjson.dumps({"u": user_id, "t": last.create_time.isoformat(), "i": last.id})
    return base64.urlsafe_b64encode(data).decode()


def _decode_cursor(cursor: str, user_id: str) -> tuple[datetime, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if data["u"] != user_id:
            raise ValueError("cursor of another user")
        return datetime.fromisoformat(data["t"]), str(uuid.UUID(data["i"]))
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise invalid_argument("wallet ledger cursor invalid") from None
