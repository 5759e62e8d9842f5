"""A JSON value as the flat, dotted fields Nakama indexes (match labels, matchmaker properties).

Nakama walks the value into its search index: strings are keywords, except those that parse as a
date, which become date fields; numbers become numeric fields (float64); booleans the keywords
"T" and "F"; the elements of an array are several values of the same field; null is not indexed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeAlias

Scalar: TypeAlias = str | float | datetime
# One value, or the several values of an array field.
FieldValue: TypeAlias = Scalar | tuple[Scalar, ...]
Document: TypeAlias = Mapping[str, FieldValue]

TRUE_KEYWORD = "T"
FALSE_KEYWORD = "F"

# The layouts Nakama tries before indexing a string as a keyword: RFC 3339 (with or without
# fractional seconds), the same without a zone (with "T" or a space), and a bare date.
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:(?P<sep>[T ])(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?P<zone>Z|[+-]\d{2}:\d{2})?)?"
)


def parse_date_time(text: str, *, zone_required: bool = False) -> datetime | None:
    """The instant a date string names (UTC when it has no zone), or None when it is not one."""
    m = _DATE_TIME.fullmatch(text)
    if m is None:
        return None
    year, month, day, _sep, hour, minute, second, fraction, zone = m.groups()
    sep = m.group("sep")
    if sep is None:
        if zone_required:
            return None
        return _build(year, month, day, "0", "0", "0", None, None)
    if zone is not None and sep != "T":
        return None
    if zone is None and zone_required:
        return None
    return _build(year, month, day, hour, minute, second, fraction, zone)


def _build(year: str, month: str, day: str, hour: str, minute: str, second: str,
           fraction: str | None, zone: str | None) -> datetime | None:
    tz = UTC
    if zone is not None and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    except ValueError:
        return None
    return value.astimezone(UTC)


def flatten(obj: Any, prefix: str) -> dict[str, FieldValue]:
    """``{"mode": "race", "skill": 5}`` under ``"label"`` -> ``{"label.mode": "race", "label.skill": 5.0}``."""
    collected: dict[str, list[Scalar]] = {}
    _walk(obj, prefix, collected)
    return {name: values[0] if len(values) == 1 else tuple(values) for name, values in collected.items()}


def _walk(value: Any, path: str, out: dict[str, list[Scalar]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                _walk(item, f"{path}.{key}" if path else key, out)
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, path, out)
        return
    scalar = index_value(value)
    if scalar is not None:
        out.setdefault(path, []).append(scalar)


def index_value(value: Any) -> Scalar | None:
    """One JSON scalar as Nakama indexes it (None for what it does not index)."""
    if isinstance(value, bool):
        return TRUE_KEYWORD if value else FALSE_KEYWORD
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        parsed = parse_date_time(value)
        return value if parsed is None else parsed
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return None
