"""Reading requests the way Nakama's gateway does.

Bodies are JSON whatever the Content-Type (or none), empty bodies are allowed,
field names may be snake_case or lowerCamelCase, and int64 fields may arrive
as numbers or strings. Query strings may end in ``?`` or ``&`` and repeat keys.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson
from aiohttp import web
from multidict import MultiMapping

from nakama_py.errors import invalid_argument

Body = dict[str, Any]


@lru_cache(maxsize=512)
def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


async def read_raw(request: web.Request) -> bytes:
    # aiohttp enforces client_max_size here and decompresses gzip/deflate bodies.
    return await request.read()


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_argument(f"proto: syntax error: {exc.msg}") from None


async def read_body(request: web.Request) -> Body:
    """The JSON object body of a request; ``{}`` when the body is empty."""
    raw = await read_raw(request)
    if not raw.strip():
        return {}
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise invalid_argument("proto: syntax error: expected a JSON object")
    return value


def field(obj: Mapping[str, Any], name: str) -> Any:
    """A field by its proto name or its lowerCamelCase JSON name."""
    value = obj.get(name)
    if value is None and "_" in name:
        value = obj.get(camel(name))
    return value


def _type_error(kind: str, name: str, value: Any) -> Exception:
    return invalid_argument(f"proto: invalid value for {kind} field {name}: {orjson.dumps(value).decode()}")


def get_str(obj: Mapping[str, Any], name: str, default: str = "") -> str:
    value = field(obj, name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _type_error("string", name, value)
    return value


def get_opt_str(obj: Mapping[str, Any], name: str) -> str | None:
    """A StringValue wrapper: None when absent, the string (maybe empty) when present."""
    value = field(obj, name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _type_error("string", name, value)
    return value


def get_int(obj: Mapping[str, Any], name: str, default: int = 0, *, bits: int = 64) -> int:
    """An int32/int64 field; int64 values may be JSON strings."""
    value = field(obj, name)
    if value is None:
        return default
    if isinstance(value, bool):
        raise _type_error(f"int{bits}", name, value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            raise _type_error(f"int{bits}", name, value) from None
    else:
        raise _type_error(f"int{bits}", name, value)
    limit = 1 << (bits - 1)
    if not -limit <= number < limit:
        raise _type_error(f"int{bits}", name, value)
    return number


def get_opt_int(obj: Mapping[str, Any], name: str, *, bits: int = 32) -> int | None:
    if field(obj, name) is None:
        return None
    return get_int(obj, name, bits=bits)


def get_bool(obj: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = field(obj, name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _type_error("bool", name, value)
    return value


def get_str_map(obj: Mapping[str, Any], name: str) -> dict[str, str]:
    """A map<string,string> such as session ``vars``."""
    value = field(obj, name)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _type_error("map<string,string>", name, value)
    return value


def get_list(obj: Mapping[str, Any], name: str) -> list[Any]:
    value = field(obj, name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _type_error("repeated", name, value)
    return value


def get_message(obj: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = field(obj, name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _type_error("message", name, value)
    return value


# --- query strings -------------------------------------------------------

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def query_value(query: MultiMapping[str], name: str) -> str | None:
    value = query.get(name)
    if value is None and "_" in name:
        value = query.get(camel(name))
    return value


def query_values(query: MultiMapping[str], name: str) -> list[str]:
    values = list(query.getall(name, []))
    if "_" in name:
        values.extend(query.getall(camel(name), []))
    return values


def query_bool(query: MultiMapping[str], name: str) -> bool | None:
    """A BoolValue query parameter parsed like Go's strconv.ParseBool; None when absent or empty."""
    value = query_value(query, name)
    if value is None or value == "":
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise invalid_argument(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def query_int(query: MultiMapping[str], name: str) -> int | None:
    value = query_value(query, name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid_argument(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def basic_username(header: str) -> str | None:
    """The username of ``Authorization: Basic base64(user:pass)``; None when unparsable."""
    if not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, _ = decoded.partition(":")
    return username if colon else None
