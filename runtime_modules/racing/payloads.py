"""Reading RPC payloads: JSON objects whose fields are checked, with 400s that name the field."""

from __future__ import annotations

import json
import math
from typing import Any

from nakama_py.runtime import Code, NakamaError

MAX_METADATA_BYTES = 2048


def invalid(message: str) -> NakamaError:
    return NakamaError(message, Code.INVALID_ARGUMENT)


def json_object(payload: str) -> dict[str, Any]:
    if not payload or not payload.strip():
        return {}
    try:
        value = json.loads(payload)
    except ValueError:
        raise invalid("payload must be a JSON object") from None
    if not isinstance(value, dict):
        raise invalid("payload must be a JSON object")
    return value


def optional_int(body: dict[str, Any], field: str, *, low: int, high: int | None = None) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise invalid(f"{field} must be an integer {bounds}")
    return value


def race_time(body: dict[str, Any], low: float, high: float) -> float:
    value = body.get("race_time")
    if value is None:
        raise invalid("race_time is required: the race time in seconds")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise invalid("race_time must be a finite number of seconds")
    if not low <= value <= high:
        raise invalid(f"race_time must be between {low:g} and {high:g} seconds")
    return float(value)


def idempotency_key(body: dict[str, Any]) -> str:
    value = body.get("idempotency_key")
    if not isinstance(value, str) or not 1 <= len(value) <= 128:
        raise invalid("idempotency_key must be a string of 1 to 128 characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise invalid("idempotency_key must not contain control characters")
    return value


def metadata(body: dict[str, Any]) -> dict[str, Any] | None:
    value = body.get("metadata")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("metadata must be a JSON object")
    if len(json.dumps(value, separators=(",", ":"))) > MAX_METADATA_BYTES:
        raise invalid(f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return value
