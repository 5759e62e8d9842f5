"""Opaque, signed cursors for leaderboard record pages and for the leaderboard list.

A record cursor holds where a page ends (direction, score, subscore, owner) and the
positional rank reached there; it is signed together with the leaderboard id and the
bucket (expiry) it was made for, with a key derived from the server's session
encryption key (shared by every process of a deployment). It therefore cannot be
edited, nor used on another leaderboard or another reset period: any of that, or
garbage, is Nakama's 400 "Cursor is invalid or expired.", never a 500.

Format: base64url without padding of ``mac(16 bytes) || JSON payload``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import orjson

from nakama_py.core.leaderboard_types import micros
from nakama_py.errors import NakamaError, invalid_argument

INVALID_CURSOR = "Cursor is invalid or expired."
INVALID_LIST_CURSOR = "expects cursor to be valid when provided"
MAC_BYTES = 16
MAX_CURSOR_CHARS = 1024  # far longer than any real cursor; bounds the work on garbage
SCORE_LIMIT = 1 << 63


@dataclass(frozen=True, slots=True)
class RecordCursor:
    """Where a page of records ends. ``rank`` is the positional rank at that record."""

    is_next: bool
    score: int
    subscore: int
    owner_id: str
    rank: int


@dataclass(frozen=True, slots=True)
class BoardCursor:
    """Where a page of the leaderboard list ends."""

    create_time_us: int
    id: str


def invalid_cursor() -> NakamaError:
    return invalid_argument(INVALID_CURSOR)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class CursorCodec:
    def __init__(self, secret: str) -> None:
        # A key of its own, so these MACs never collide with tokens or other cursors.
        self._key = hashlib.sha256(b"nakama-py leaderboard cursor\x00" + secret.encode()).digest()

    def _mac(self, scope: bytes, payload: bytes) -> bytes:
        return hmac.new(self._key, scope + b"\x00" + payload, hashlib.sha256).digest()[:MAC_BYTES]

    def _seal(self, scope: bytes, payload: bytes) -> str:
        return base64.urlsafe_b64encode(self._mac(scope, payload) + payload).rstrip(b"=").decode("ascii")

    def _open(self, cursor: str, scope: bytes) -> object:
        """The payload of a cursor sealed for ``scope``; ValueError otherwise."""
        if len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
            raise ValueError("cursor")
        try:
            raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("cursor") from None
        mac, payload = raw[:MAC_BYTES], raw[MAC_BYTES:]
        if len(mac) != MAC_BYTES or not hmac.compare_digest(mac, self._mac(scope, payload)):
            raise ValueError("cursor")
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise ValueError("cursor") from None

    # --- record pages -------------------------------------------------------------------

    @staticmethod
    def _record_scope(leaderboard_id: str, expiry: int) -> bytes:
        return orjson.dumps(["records", leaderboard_id, expiry])

    def encode_records(self, leaderboard_id: str, expiry: int, cursor: RecordCursor) -> str:
        payload = orjson.dumps([cursor.is_next, cursor.score, cursor.subscore, cursor.owner_id, cursor.rank])
        return self._seal(self._record_scope(leaderboard_id, expiry), payload)

    def decode_records(self, cursor: str, leaderboard_id: str, expiry: int) -> RecordCursor:
        """The cursor's position; 400 unless this server made it for this board and bucket."""
        try:
            value = self._open(cursor, self._record_scope(leaderboard_id, expiry))
        except ValueError:
            raise invalid_cursor() from None
        if not isinstance(value, list) or len(value) != 5:
            raise invalid_cursor()
        is_next, score, subscore, owner_id, rank = value
        if (not isinstance(is_next, bool) or not _is_int(score) or not _is_int(subscore) or not _is_int(rank)
                or not isinstance(owner_id, str) or not -SCORE_LIMIT <= score < SCORE_LIMIT
                or not -SCORE_LIMIT <= subscore < SCORE_LIMIT or not -SCORE_LIMIT <= rank < SCORE_LIMIT):
            raise invalid_cursor()
        return RecordCursor(is_next, score, subscore, owner_id, rank)

    # --- the leaderboard list ------------------------------------------------------------

    def encode_boards(self, create_time: datetime, board_id: str) -> str:
        return self._seal(b"boards", orjson.dumps([micros(create_time), board_id]))

    def decode_boards(self, cursor: str) -> BoardCursor:
        try:
            value = self._open(cursor, b"boards")
        except ValueError:
            raise invalid_argument(INVALID_LIST_CURSOR) from None
        if (not isinstance(value, list) or len(value) != 2 or not _is_int(value[0])
                or not isinstance(value[1], str)):
            raise invalid_argument(INVALID_LIST_CURSOR)
        return BoardCursor(value[0], value[1])
