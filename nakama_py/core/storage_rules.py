"""Nakama's storage validation rules and messages, shared by every storage operation."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import orjson

from nakama_py.errors import StorageDeleteRejected, StoragePermissionDenied, StorageVersionConflict, invalid_argument

SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000000"
MAX_NAME_CHARS = 128  # collection and key are VARCHAR(128)

MISSING_COLLECTION_OR_KEY = "Invalid collection or key value supplied. They must be set."
NAME_TOO_LONG = "Invalid collection or key value supplied. They must be at most 128 characters long."
NAME_UNSTORABLE = "Invalid collection or key value supplied. They must be valid UTF-8 text without NUL characters."
INVALID_USER_ID = "Invalid user ID - make sure user ID is a valid UUID."
INVALID_READ = "Invalid Read permission supplied. It must be either 0, 1 or 2."
INVALID_WRITE = "Invalid Write permission supplied. It must be either 0 or 1."
NOT_AN_OBJECT = "Value must be a JSON object."
VALUE_HAS_NUL = "Value must be a JSON object without \\u0000 characters."
INVALID_LIMIT = "Invalid limit - limit must be between 1 and 100."
# The rejections are typed errors (nakama_py/errors.py) carrying these messages.
REJECTED_VERSION = StorageVersionConflict.MESSAGE
REJECTED_PERMISSION = StoragePermissionDenied.MESSAGE
REJECTED_DELETE = StorageDeleteRejected.MESSAGE
UNKNOWN_OWNER = "Storage write rejected - the owner is not a user."


def parse_user_id(value: str) -> str:
    """A user id in canonical form (lower-case, hyphenated); 400 if it is not a UUID."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise invalid_argument(INVALID_USER_ID) from None


def storable_name(name: str) -> bool:
    """Whether a collection or key could be stored at all (and so could name an existing object)."""
    if len(name) > MAX_NAME_CHARS or "\x00" in name:
        return False
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_name(collection: str, key: str) -> None:
    """400 rather than a database error for a name the ``storage`` table cannot hold."""
    for name in (collection, key):
        if len(name) > MAX_NAME_CHARS:
            raise invalid_argument(NAME_TOO_LONG)
        if not storable_name(name):
            raise invalid_argument(NAME_UNSTORABLE)


def check_permissions(read: int, write: int) -> None:
    if read not in (0, 1, 2):
        raise invalid_argument(INVALID_READ)
    if write not in (0, 1):
        raise invalid_argument(INVALID_WRITE)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def check_object_value(value: str) -> None:
    """Nakama's rule: valid JSON whose first non-blank character opens an object."""
    if not value.lstrip(" \t\r\n").startswith("{"):
        raise invalid_argument(NOT_AN_OBJECT)
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        # orjson refuses some valid JSON (e.g. 1e400); the standard parser, minus NaN/Infinity, decides.
        try:
            parsed = json.loads(value, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise invalid_argument(NOT_AN_OBJECT) from None
    if not isinstance(parsed, dict):
        raise invalid_argument(NOT_AN_OBJECT)


def version_of(value: str) -> str:
    """Nakama's version: the lower-case hex MD5 of the value exactly as submitted."""
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid_argument(NOT_AN_OBJECT) from None
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
