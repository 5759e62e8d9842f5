"""Storage objects with Nakama's rules: versions, conditional writes, permissions, listings.

``caller`` is the user making a client call, or None for the runtime, which bypasses
permission checks (never version checks), like Nakama's nil-UUID caller.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nakama_py.core.storage_cursor import CursorCodec, Position
from nakama_py.core.storage_rules import (
    INVALID_LIMIT,
    INVALID_USER_ID,
    MISSING_COLLECTION_OR_KEY,
    NOT_AN_OBJECT,
    SYSTEM_USER_ID,
    UNKNOWN_OWNER,
    VALUE_HAS_NUL,
    check_name,
    check_object_value,
    check_permissions,
    parse_user_id,
    storable_name,
    version_of,
)
from nakama_py.db import storage as sql
from nakama_py.db.errors import ForeignKeyViolation, TextUnstorable, ValueRejected
from nakama_py.db.pool import Connection, Database
from nakama_py.db.replicas import ReplicaSet
from nakama_py.errors import StorageDeleteRejected, StoragePermissionDenied, StorageVersionConflict, invalid_argument

__all__ = ["SYSTEM_USER_ID", "StorageAck", "StorageObject", "StorageObjectId", "StorageService", "StorageWrite"]


@dataclass(frozen=True, slots=True)
class StorageObject:
    collection: str
    key: str
    user_id: str
    value: str  # JSON text as the database returns it
    version: str
    permission_read: int
    permission_write: int
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class StorageWrite:
    collection: str
    key: str
    value: str  # JSON object text; the version is the MD5 of exactly this text
    user_id: str | None = None  # None: the caller for clients, the system user for the runtime
    version: str = ""  # "" last write wins, "*" create only, else if-match
    permission_read: int = 1
    permission_write: int = 1


@dataclass(frozen=True, slots=True)
class StorageAck:
    collection: str
    key: str
    user_id: str
    version: str
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class StorageObjectId:
    collection: str
    key: str
    user_id: str | None = None
    version: str = ""


class View(enum.Enum):
    """The five kinds of listing; each has its own filter, order and cursor position."""

    PUBLIC = "public"  # client, every owner: read = 2, by (read, key, user_id)
    OWN = "own"  # client, own objects: read >= 1, by (read, key)
    OTHERS_PUBLIC = "others"  # client, another owner: read = 2, by key
    ALL = "all"  # runtime, every owner: any read, by (read, key, user_id)
    USER = "user"  # runtime, one owner: any read, by (read, key)


def _object(row: sql.Row) -> StorageObject:
    return StorageObject(row.collection, row.key, row.user_id, row.value, row.version, row.read, row.write,
                         row.create_time, row.update_time)


def _require_names(collection: str, key: str) -> None:
    if not collection or not key:
        raise invalid_argument(MISSING_COLLECTION_OR_KEY)


def _sort_key(op: Any) -> tuple[str, str, str]:
    return (op.collection, op.key, op.user_id)


class StorageService:
    def __init__(self, db: Database, cursor_secret: str, replicas: ReplicaSet | None = None) -> None:
        self.db = db
        # Reads of other players' objects by a client tolerate database.read_max_lag_ms of staleness;
        # anything holding the caller's own objects, and every runtime read, reads the primary.
        self.replicas = replicas or ReplicaSet(db, [], max_lag_sec=0.0)
        self.cursors = CursorCodec(cursor_secret)

    # --- owners ---------------------------------------------------------------

    @staticmethod
    def _read_owner(user_id: str | None, caller: str | None) -> str:
        """An empty id means the system user; clients may not name the nil UUID explicitly."""
        if not user_id:
            return SYSTEM_USER_ID
        owner = parse_user_id(user_id)
        if caller is not None and owner == SYSTEM_USER_ID:
            raise invalid_argument(INVALID_USER_ID)
        return owner

    @staticmethod
    def _write_owner(user_id: str | None, caller: str | None) -> str:
        """Clients always act on their own objects; the runtime defaults to the system user."""
        if caller is None:
            return parse_user_id(user_id) if user_id else SYSTEM_USER_ID
        if user_id and parse_user_id(user_id) != caller:
            raise StoragePermissionDenied()
        return caller

    # --- read -----------------------------------------------------------------

    async def read(self, ids: Sequence[StorageObjectId], *, caller: str | None = None) -> list[StorageObject]:
        """The objects that exist and the caller may read, in request order; the others are left out."""
        if not ids:
            return []
        wanted: dict[tuple[str, str, str], None] = {}
        for object_id in ids:
            _require_names(object_id.collection, object_id.key)
            owner = self._read_owner(object_id.user_id, caller)
            # A name the table cannot hold names no object: nothing to look up.
            if storable_name(object_id.collection) and storable_name(object_id.key):
                wanted[(object_id.collection, object_id.key, owner)] = None
        keys = list(wanted)
        if caller is not None and all(owner != caller for _, _, owner in keys):
            rows = await self.replicas.read(lambda db: sql.read_objects(db, keys, caller))
        else:
            rows = await sql.read_objects(self.db, keys, caller)
        return [_object(row) for row in rows]

    # --- write ----------------------------------------------------------------

    def _prepare_write(self, write: StorageWrite, caller: str | None) -> sql.WriteOp:
        if not write.collection or not write.key or not write.value:
            raise invalid_argument(MISSING_COLLECTION_OR_KEY)
        check_permissions(write.permission_read, write.permission_write)
        check_object_value(write.value)
        check_name(write.collection, write.key)
        owner = self._write_owner(write.user_id, caller)
        if write.version == "":
            mode, expected = sql.WriteMode.LAST_WRITE_WINS, ""
        elif write.version == "*":
            mode, expected = sql.WriteMode.CREATE_ONLY, ""
        else:
            mode, expected = sql.WriteMode.IF_MATCH, write.version
        return sql.WriteOp(write.collection, write.key, owner, write.value, version_of(write.value),
                           write.permission_read, write.permission_write, mode, expected)

    @staticmethod
    def _ack(op: sql.WriteOp, outcome: sql.WriteOutcome | None, caller: str | None) -> StorageAck:
        if outcome is None:  # if-match on a missing object, or create-only on an existing one
            raise StorageVersionConflict()
        if not outcome.applied:
            if caller is not None and outcome.write != 1:
                raise StoragePermissionDenied()
            if op.mode is not sql.WriteMode.LAST_WRITE_WINS:
                raise StorageVersionConflict()
            # Last write wins with nothing to change: the row and its times were left as they were.
        return StorageAck(op.collection, op.key, op.user_id, outcome.version, outcome.create_time,
                          outcome.update_time)

    async def write(self, writes: Sequence[StorageWrite], *, caller: str | None = None,
                    conn: Connection | None = None) -> list[StorageAck]:
        """Write a batch atomically; acks in request order. Any rejection aborts the whole batch."""
        if not writes:
            return []
        ops = [self._prepare_write(write, caller) for write in writes]
        # Every batch locks rows in one global order, so concurrent batches cannot deadlock.
        order = sorted(range(len(ops)), key=lambda i: _sort_key(ops[i]))
        ordered = [ops[i] for i in order]
        acks: list[StorageAck | None] = [None] * len(ops)
        try:
            async with sql.batch(self.db, conn) as tx:
                outcomes = await sql.write_objects(tx, ordered, enforce_permission=caller is not None)
                for index, op, outcome in zip(order, ordered, outcomes, strict=True):
                    acks[index] = self._ack(op, outcome, caller)
        except TextUnstorable:
            raise invalid_argument(VALUE_HAS_NUL) from None
        except ValueRejected:
            raise invalid_argument(NOT_AN_OBJECT) from None
        except ForeignKeyViolation:
            raise invalid_argument(UNKNOWN_OWNER) from None
        return [ack for ack in acks if ack is not None]

    # --- delete ---------------------------------------------------------------

    async def delete(self, ids: Sequence[StorageObjectId], *, caller: str | None = None,
                     conn: Connection | None = None) -> None:
        """Delete a batch atomically. Clients: own objects with write > 0, and a missing object is a 400.
        Runtime: any object; a missing one is a no-op unless a version was required."""
        if not ids:
            return
        ops: list[sql.DeleteOp] = []
        for object_id in ids:
            _require_names(object_id.collection, object_id.key)
            owner = self._write_owner(object_id.user_id, caller)
            ops.append(sql.DeleteOp(object_id.collection, object_id.key, owner, object_id.version))
        for op in ops:
            # A name the table cannot hold names no object: it is missing.
            if not (storable_name(op.collection) and storable_name(op.key)) and (caller is not None or op.version):
                raise StorageDeleteRejected()
        existing = sorted((op for op in ops if storable_name(op.collection) and storable_name(op.key)),
                          key=_sort_key)
        if not existing:
            return
        async with sql.batch(self.db, conn) as tx:
            counts = await sql.delete_objects(tx, existing, enforce_permission=caller is not None)
            for op, count in zip(existing, counts, strict=True):
                if count == 0 and (caller is not None or op.version):
                    raise StorageDeleteRejected()

    # --- list -----------------------------------------------------------------

    @staticmethod
    def _view(owner: str | None, caller: str | None) -> View:
        if caller is None:
            return View.ALL if owner is None else View.USER
        if owner is None:
            return View.PUBLIC
        return View.OWN if owner == caller else View.OTHERS_PUBLIC

    @staticmethod
    def _start(view: View) -> Position:
        """A position before every row of the listing (keys are never empty)."""
        min_read = {View.PUBLIC: 2, View.OWN: 1, View.OTHERS_PUBLIC: 2}.get(view, 0)
        return Position(min_read, "", SYSTEM_USER_ID)

    async def _page(self, view: View, collection: str, owner: str | None, after: Position,
                    limit: int) -> list[sql.Row]:
        if view in (View.PUBLIC, View.ALL):
            min_read = 2 if view is View.PUBLIC else 0
            return await sql.list_all(self.db, collection, min_read=min_read,
                                      after=(after.read, after.key, after.user_id), limit=limit)
        assert owner is not None
        if view is View.OTHERS_PUBLIC:
            return await self.replicas.read(
                lambda db: sql.list_public_user(db, collection, owner, after_key=after.key, limit=limit))
        min_read = 1 if view is View.OWN else 0
        return await sql.list_user(self.db, collection, owner, min_read=min_read, after=(after.read, after.key),
                                   limit=limit)

    async def collections(self, limit: int = 1000) -> Sequence[tuple[str, int]]:
        """Every collection and its number of objects (operators browse storage by collection)."""
        return await sql.collection_counts(self.db, limit)

    async def owner_objects(self, user_id: str, limit: int = 1000) -> list[StorageObject]:
        """Every object a user owns (operators: account pages and exports)."""
        return [_object(row) for row in await sql.owner_objects(self.db, parse_user_id(user_id), limit)]

    async def objects_with_key(self, collection: str, key: str, limit: int = 1000) -> list[StorageObject]:
        """Every owner's object under one collection and key."""
        return [_object(row) for row in await sql.objects_with_key(self.db, collection, key, limit)]

    async def count(self, collection: str, *, user_id: str | None = None) -> int:
        """How many objects a collection holds (one owner's, with ``user_id``). Runtime only."""
        owner = parse_user_id(user_id) if user_id else None
        if not storable_name(collection):
            return 0
        return await sql.count_objects(self.db, collection, owner)

    async def list_objects(self, collection: str, *, user_id: str | None = None, limit: int = 1,
                   cursor: str | None = None, caller: str | None = None) -> tuple[list[StorageObject], str | None]:
        """One page of a collection, in Nakama's order for the listing, and the cursor of the next page."""
        if caller is not None and not 1 <= limit <= 100:
            raise invalid_argument(INVALID_LIMIT)
        owner = parse_user_id(user_id) if user_id else None
        if limit <= 0:
            return [], None
        view = self._view(owner, caller)
        scope = (view.value, collection, owner or "")
        after = self.cursors.decode(cursor, scope) if cursor else self._start(view)
        if not storable_name(collection):
            return [], None
        rows = await self._page(view, collection, owner, after, limit + 1)
        next_cursor: str | None = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = self.cursors.encode(scope, Position(last.read, last.key, last.user_id))
            if next_cursor == cursor:
                next_cursor = None
        return [_object(row) for row in rows], next_cursor
