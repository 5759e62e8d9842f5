"""How a bus message travels in a PostgreSQL notification: ``<sender> <sequence> <kind><body>``.

- ``sender``: the publishing process's token, so a subscriber can skip its own messages;
- ``sequence``: per sender, in hex; it also keeps identical payloads sent in one transaction
  distinct (PostgreSQL folds identical notifications of a transaction into one);
- ``kind`` ``t``: the body is the payload itself (UTF-8 text without NUL bytes, as JSON is);
  ``b``: the payload in base64 (any other bytes); ``s``: the body is the id of a
  ``nakama_py_cluster_message`` row holding the payload (too large for a notification).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

MAX_NOTIFY_BYTES = 7999  # PostgreSQL refuses a NOTIFY payload of 8000 bytes or more
TEXT, BASE64, SPILLED = "t", "b", "s"


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: str
    kind: str
    body: str

    def payload(self) -> bytes:
        """The payload of an inline envelope (``TEXT`` or ``BASE64``); ValueError when malformed."""
        if self.kind == TEXT:
            return self.body.encode()
        try:
            return base64.b64decode(self.body, validate=True)
        except binascii.Error as exc:
            raise ValueError(str(exc)) from None

    def spilled_id(self) -> int:
        return int(self.body)


def head(sender: str, sequence: int, kind: str) -> str:
    return f"{sender} {sequence:x} {kind}"


def inline(sender: str, sequence: int, payload: bytes) -> str | None:
    """The notification text carrying ``payload``; None when it is too large and must be spilled."""
    try:
        text = payload.decode()
        kind = TEXT if "\x00" not in text else BASE64
    except UnicodeDecodeError:
        kind = BASE64
    if kind == BASE64:
        text = base64.b64encode(payload).decode()
        size = len(text)
    else:
        size = len(payload)
    start = head(sender, sequence, kind)
    if len(start) + size > MAX_NOTIFY_BYTES:
        return None
    return start + text


def parse(text: str) -> Envelope | None:
    """An envelope's parts; None for anything malformed (a stranger notifying on our channel)."""
    parts = text.split(" ", 2)
    if len(parts) != 3 or not parts[2] or parts[2][0] not in (TEXT, BASE64, SPILLED):
        return None
    envelope = Envelope(parts[0], parts[2][0], parts[2][1:])
    if envelope.kind == SPILLED and not envelope.body.isdigit():
        return None
    return envelope
