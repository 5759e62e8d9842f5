"""Opaque, signed cursors for storage listings.

A cursor holds the position after which the next page starts (read permission,
key, owner id) and is signed, together with the listing it came from (the view,
the collection and the owner filter), with a key derived from the server's
session encryption key. A cursor therefore cannot be edited, nor replayed
against another collection, owner or kind of listing: any of that, or garbage,
is Nakama's 400 "Malformed cursor was used.".

Format: base64url without padding of ``mac(16 bytes) || JSON [read, key, user_id]``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass

import orjson

from nakama_py.errors import NakamaError, invalid_argument

MALFORMED_CURSOR = "Malformed cursor was used."
MAC_BYTES = 16
# Longer than any real cursor (two 128-character names, a UUID, JSON quoting); a bound on decode work.
MAX_CURSOR_CHARS = 4096


@dataclass(frozen=True, slots=True)
class Position:
    """The last object of a page, in the listing's order."""

    read: int
    key: str
    user_id: str


def malformed() -> NakamaError:
    return invalid_argument(MALFORMED_CURSOR)


class CursorCodec:
    def __init__(self, secret: str) -> None:
        # A key of its own, so a cursor MAC can never be confused with a token signature.
        self._key = hashlib.sha256(b"nakama-py storage cursor\x00" + secret.encode()).digest()

    def _mac(self, scope: bytes, payload: bytes) -> bytes:
        return hmac.new(self._key, scope + payload, hashlib.sha256).digest()[:MAC_BYTES]

    def encode(self, scope: tuple[str, ...], position: Position) -> str:
        payload = orjson.dumps([position.read, position.key, position.user_id])
        raw = self._mac(orjson.dumps(scope), payload) + payload
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def decode(self, cursor: str, scope: tuple[str, ...]) -> Position:
        """The position in ``cursor``; 400 unless this server signed it for this very listing."""
        if len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
            raise malformed()
        try:
            raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise malformed() from None
        mac, payload = raw[:MAC_BYTES], raw[MAC_BYTES:]
        if len(mac) != MAC_BYTES or not hmac.compare_digest(mac, self._mac(orjson.dumps(scope), payload)):
            raise malformed()
        try:
            read, key, user_id = orjson.loads(payload)
            uuid.UUID(user_id)
        except (orjson.JSONDecodeError, ValueError, TypeError, AttributeError):
            raise malformed() from None
        if not isinstance(read, int) or isinstance(read, bool) or not isinstance(key, str):
            raise malformed()
        return Position(read, key, user_id)
