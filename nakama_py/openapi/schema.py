"""JSON Schema pieces for Nakama's JSON conventions (protojson with proto field names, as Nakama's gateway
marshals): int64 as decimal strings, enums as numbers, wrappers as plain values, timestamps as RFC 3339."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
BOOL: Schema = {"type": "boolean"}
INT32: Schema = {"type": "integer", "format": "int32", "minimum": -(1 << 31), "maximum": (1 << 31) - 1}
UINT32: Schema = {"type": "integer", "format": "uint32", "minimum": 0, "maximum": (1 << 32) - 1}
DOUBLE: Schema = {"type": "number", "format": "double"}
# int64 and uint64 travel as strings in replies; requests may send them as numbers too (protojson reads both).
INT64: Schema = {"type": "string", "format": "int64", "pattern": "^-?[0-9]{1,19}$"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
BYTES: Schema = {"type": "string", "contentEncoding": "base64"}
ANY: Schema = {}
# google.protobuf.Empty: the reply of every call that returns nothing is ``{}``.
EMPTY: Schema = {"type": "object", "maxProperties": 0}
string_map: Schema = {"type": "object", "additionalProperties": STRING}
# nakama.api.Operator: a write's override of the board's operator, by number (or name, which protojson reads).
OPERATOR: Schema = {"enum": [0, 1, 2, 3, 4, "NO_OVERRIDE", "BEST", "SET", "INCREMENT", "DECREMENT"]}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def map_of(values: Schema) -> Schema:
    return {"type": "object", "additionalProperties": values}


def message(*, required: tuple[str, ...] = (), **fields: Schema) -> Schema:
    """A protobuf message: every field optional (zero values are left out), unknown fields ignored on input.

    Messages only ever sent by the server are closed (``additionalProperties: false``) when the document is
    built, so a reply with an unexpected field fails the schema check."""
    schema: Schema = {"type": "object", "properties": dict(fields)}
    if required:
        schema["required"] = list(required)
    return schema
