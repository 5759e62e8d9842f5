"""In-app notifications sent by server code, stored in ``notification`` for users to list.

nakama-py has no realtime socket, so a notification reaches its user only by being
persisted; a non-persistent one is validated and then has nobody to go to.
Validation and messages follow Nakama's runtime (``NotificationsSend``).
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

from nakama_py.db import notifications as sql
from nakama_py.db.errors import ForeignKeyViolation
from nakama_py.db.notifications import NotificationRow
from nakama_py.db.pool import Database
from nakama_py.errors import AccountNotFound, invalid_argument

SYSTEM_SENDER = "00000000-0000-0000-0000-000000000000"
SUBJECT_MAX = 255
LIST_LIMIT_MAX = 100


@dataclass(frozen=True, slots=True)
class NotificationSend:
    user_id: str
    subject: str
    content: Mapping[str, Any]
    code: int                          # > 0 for games; -2000..-1000 are Nakama's reserved system codes
    sender_id: str | None = None       # None: the system
    persistent: bool = True


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    user_id: str
    subject: str
    content: dict[str, Any] = field(default_factory=dict)
    code: int = 0
    sender_id: str = SYSTEM_SENDER
    create_time: datetime | None = None
    persistent: bool = True


def _row(note: NotificationSend) -> NotificationRow:
    try:
        user_id = str(uuid.UUID(str(note.user_id)))
    except ValueError:
        raise invalid_argument("expects userID to be a valid UUID") from None
    if not isinstance(note.subject, str) or not note.subject:
        raise invalid_argument("expects subject to be a non-empty string")
    if len(note.subject) > SUBJECT_MAX:
        raise invalid_argument(f"expects subject to be at most {SUBJECT_MAX} characters")
    if not isinstance(note.content, Mapping):
        raise invalid_argument("expects content to be a mapping")
    code = note.code
    if not isinstance(code, int) or isinstance(code, bool) or (code <= 0 and not -2000 <= code <= -1000):
        raise invalid_argument("expects code to number above 0")
    if code > 32767:
        raise invalid_argument("expects code to be at most 32767")
    sender = SYSTEM_SENDER
    if note.sender_id:
        try:
            sender = str(uuid.UUID(str(note.sender_id)))
        except ValueError:
            raise invalid_argument("expects sender to either be an empty string or a valid UUID") from None
    try:
        content = orjson.dumps(dict(note.content)).decode()
    except TypeError as exc:
        raise invalid_argument(f"failed to convert content: {exc}") from None
    return NotificationRow(str(uuid.uuid4()), user_id, note.subject, content, code, sender)


class NotificationService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def send(self, notifications: Sequence[NotificationSend]) -> list[Notification]:
        """Validate all, then store the persistent ones in one statement; all or nothing."""
        rows = [_row(note) for note in notifications]
        stored = [row for row, note in zip(rows, notifications, strict=True) if note.persistent]
        times: list[datetime | None] = [None] * len(rows)
        if stored:
            try:
                async with self.db.transaction() as conn:
                    created = iter(await sql.insert_notifications(conn, stored))
            except ForeignKeyViolation:
                raise AccountNotFound("user not found") from None
            times = [next(created) if note.persistent else None for note in notifications]
        return [Notification(row.id, row.user_id, row.subject, orjson.loads(row.content), row.code, row.sender_id,
                             when, note.persistent)
                for row, note, when in zip(rows, notifications, times, strict=True)]

    async def list_notifications(self, user_id: str, limit: int = 100,
                   cursor: str | None = None) -> tuple[list[Notification], str | None]:
        """A user's stored notifications, oldest first; the cursor continues (None: no more)."""
        try:
            user_id = str(uuid.UUID(str(user_id)))
        except ValueError:
            raise invalid_argument("expects userID to be a valid UUID") from None
        if not isinstance(limit, int) or not 1 <= limit <= LIST_LIMIT_MAX:
            raise invalid_argument("expects limit to be 1-100")
        after = _decode_cursor(cursor) if cursor else None
        rows = await sql.list_notifications(self.db, user_id, limit + 1, after)
        items = [Notification(r.id, user_id, r.subject, dict(r.content), r.code, r.sender_id, r.create_time)
                 for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit and items[-1].create_time is not None:
            last = items[-1]
            next_cursor = base64.urlsafe_b64encode(orjson.dumps(
                {"t": last.create_time.isoformat(), "i": last.id})).decode()  # type: ignore[union-attr]
        return items, next_cursor


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(data["t"]), str(uuid.UUID(data["i"]))
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise invalid_argument("notification cursor invalid") from None
