"""Protobuf-JSON conventions for responses.

Nakama answers with snake_case names, 64-bit integers as strings, RFC 3339
timestamps and every zero value left out. Builders assemble plain dicts with
``i64``/``timestamp`` and drop zeros with ``compact``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def dumps_go(obj: Any) -> bytes:
    """Encode like Go's encoding/json, which escapes <, > and & inside strings."""
    raw = orjson.dumps(obj)
    if b"<" in raw or b">" in raw or b"&" in raw:
        raw = raw.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
    return raw


def i64(value: int | None) -> str | None:
    """An int64 field: a decimal string, or absent when zero."""
    return str(value) if value else None


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with ``Z``; fractional digits only when non-zero; epoch means unset."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value == _EPOCH:
        return None
    # Formatted by hand: strftime costs several times more, and pages hold hundreds of these.
    base = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
            f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
    micros = value.microsecond
    if micros == 0:
        return base + "Z"
    if micros % 1000 == 0:
        return f"{base}.{micros // 1000:03d}Z"
    return f"{base}.{micros:06d}Z"


def is_zero(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    if isinstance(value, (str, list, dict, tuple)):
        return len(value) == 0
    return False


def compact(message: dict[str, Any]) -> dict[str, Any]:
    """Drop zero-valued fields, as protojson does without EmitUnpopulated."""
    return {k: v for k, v in message.items() if not is_zero(v)}
