"""In-app notifications sent by server code, stored in ``notification`` for users to list.

Every notification is delivered at once to each socket of its user, on any process or node
(the router); a persistent one is stored too, for ``GET /v2/notification``. Validation and
messages follow Nakama's runtime (``NotificationsSend``).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from nakama_py.core.router import Router
from nakama_py.db import notifications as sql
from nakama_py.db.errors import ForeignKeyViolation
from nakama_py.db.notifications import NotificationRow
from nakama_py.db.pool import Connection, Database
from nakama_py.errors import AccountNotFound, internal, invalid_argument
from nakama_py.proto import api_pb2
from nakama_py.proto.realtime_pb2 import Envelope

SYSTEM_SENDER = "00000000-0000-0000-0000-000000000000"
SUBJECT_MAX = 255
SEND_ALL_BATCH = 10_000  # users stored per statement by a persistent send to all (Nakama's page size)
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


# Nakama's own notification codes (core_notification.go), sent by the server's features only.
CODE_DM_REQUEST = -1
CODE_SINGLE_SOCKET = -7
CODE_BANNED = -8


def _row(note: NotificationSend, *, system: bool = False) -> NotificationRow:
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
    reserved = system and -9 <= code <= -1
    if not isinstance(code, int) or isinstance(code, bool) or (code <= 0 and not -2000 <= code <= -1000
                                                               and not reserved):
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
    def __init__(self, db: Database, router: Router | None = None) -> None:
        self.db = db
        self._router = router

    async def send(self, notifications: Sequence[NotificationSend], *, system: bool = False) -> list[Notification]:
        """Validate all, then store the persistent ones in one statement; all or nothing.
        ``system``: a server feature sending one of Nakama's reserved codes (-1..-9)."""
        if any(note.persistent for note in notifications):
            async with self.db.transaction() as conn:
                sent = await self.store(conn, notifications, system=system)
        else:
            sent = await self.store(None, notifications, system=system)
        await self.deliver(sent)
        return sent

    async def send_all(self, subject: str, content: Mapping[str, Any], code: int, persistent: bool = False) -> None:
        """Nakama's ``NotificationSendAll``: a non-persistent notification goes to every socket of the cluster
        (through the router); a persistent one is stored for every user, a page of users per transaction, each
        page delivered to its users' sockets once stored."""
        if not isinstance(subject, str) or not subject:
            raise invalid_argument("expects subject to be a non-empty string")
        if not isinstance(code, int) or isinstance(code, bool) or code <= 0:
            raise invalid_argument("expects code to number above 0")
        template = NotificationSend(SYSTEM_SENDER, subject, content, code, None, persistent)
        row = _row(template)  # the remaining checks (subject length, code range, content encoding)
        if not persistent:
            if self._router is not None:
                note = Notification(row.id, "", subject, orjson.loads(row.content), code, SYSTEM_SENDER, None, False)
                envelope = Envelope()
                envelope.notifications.notifications.append(to_proto(note))
                await self._router.send_to_all(envelope)
            return
        after: str | None = None
        while user_ids := await sql.user_ids_page(self.db, after, SEND_ALL_BATCH):
            after = user_ids[-1]
            sends = [NotificationSend(user_id, subject, content, code, None, True) for user_id in user_ids]
            async with self.db.transaction() as conn:
                sent = await self.store(conn, sends)
            await self.deliver(sent)

    async def store(self, conn: Connection | None, notifications: Sequence[NotificationSend], *,
                    system: bool = False) -> list[Notification]:
        """Validate and store the persistent ones within the caller's transaction, delivering nothing:
        the caller calls ``deliver`` once its transaction has committed (so a rolled-back write never
        reaches a socket)."""
        rows = [_row(note, system=system) for note in notifications]
        stored = [row for row, note in zip(rows, notifications, strict=True) if note.persistent]
        times: list[datetime | None] = [None] * len(rows)
        if stored:
            assert conn is not None, "persistent notifications need a transaction"
            try:
                created = iter(await sql.insert_notifications(conn, stored))
            except ForeignKeyViolation:
                raise AccountNotFound("user not found") from None
            times = [next(created) if note.persistent else None for note in notifications]
        return [Notification(row.id, row.user_id, row.subject, orjson.loads(row.content), row.code, row.sender_id,
                             when, note.persistent)
                for row, note, when in zip(rows, notifications, times, strict=True)]

    async def deliver(self, notifications: Sequence[Notification]) -> None:
        """Send to the sockets of each user (one envelope per user), wherever they are connected."""
        if self._router is None:
            return
        by_user: dict[str, list[Notification]] = {}
        for note in notifications:
            by_user.setdefault(note.user_id, []).append(note)
        for user_id, notes in by_user.items():
            envelope = Envelope()
            envelope.notifications.notifications.extend(to_proto(note) for note in notes)
            await self._router.send_to_user(user_id, envelope)

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
        last_time = items[-1].create_time if items else None
        if len(rows) > limit and last_time is not None:
            next_cursor = _encode_cursor(last_time, items[-1].id)
        return items, next_cursor


    async def list_cacheable(self, user_id: str, limit: int, cursor: str = "") -> tuple[Sequence[Notification], str]:
        """A page for a client: the cursor always points after the last item (or is the one given
        when there is nothing newer), so a client can keep it and later fetch only what arrived since."""
        items, _ = await self.list_notifications(user_id, limit, cursor or None)
        if not items or items[-1].create_time is None:
            return items, cursor
        return items, _encode_cursor(items[-1].create_time, items[-1].id)

    async def delete(self, user_id: str, ids: Sequence[str]) -> None:
        """Delete the user's notifications with these ids (others' ids are ignored)."""
        try:
            valid = [str(uuid.UUID(str(i))) for i in ids]
        except ValueError:
            raise internal("Error while deleting notifications.") from None  # Nakama's database refuses them
        if valid:
            await sql.delete_notifications(self.db, user_id, valid)


def _encode_cursor(create_time: datetime, notification_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"t": create_time.isoformat(), "i": notification_id})).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(data["t"]), str(uuid.UUID(data["i"]))
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise invalid_argument("notification cursor invalid") from None


def to_proto(note: Notification) -> api_pb2.Notification:
    message = api_pb2.Notification(id=note.id, subject=note.subject, content=orjson.dumps(note.content).decode(),
                                   code=note.code, sender_id=note.sender_id, persistent=note.persistent)
    message.create_time.FromDatetime(note.create_time or datetime.now(UTC))
    return message
