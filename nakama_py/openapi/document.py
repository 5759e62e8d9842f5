"""Renders the operations table and the message schemas as an OpenAPI 3.1 document."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from nakama_py import __version__
from nakama_py.openapi.messages import MESSAGES
from nakama_py.openapi.operations import BEARER, NO_AUTH, OPERATIONS, RPC_AUTH, SERVER_KEY, Operation
from nakama_py.openapi.schema import STRING, Schema

Document = dict[str, Any]
OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
_PATH_PARAM = re.compile(r"\{(\w+)\}")

# Nakama's gateway error shape; RPC errors also carry ``error`` (the function's error value).
ERROR: Schema = {"type": "object", "required": ["code", "message"], "additionalProperties": False,
                 "properties": {"code": {"type": "integer", "minimum": 0, "maximum": 16},
                                "message": STRING}}
RPC_ERROR: Schema = {"type": "object", "required": ["code", "message"], "additionalProperties": False,
                     "properties": {"code": {"type": "integer", "minimum": 0, "maximum": 16},
                                    "message": STRING, "error": {}}}

SECURITY_SCHEMES: dict[str, Schema] = {
    "session": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "A session token from an authenticate call or a session refresh."},
    "serverKey": {"type": "http", "scheme": "basic",
                  "description": "Basic auth: the username is socket.server_key, the password empty."},
    "httpKey": {"type": "apiKey", "in": "query", "name": "http_key",
                "description": "runtime.http_key (also accepted as a Basic username)."},
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    BEARER: [{"session": []}], SERVER_KEY: [{"serverKey": []}],
    RPC_AUTH: [{"session": []}, {"httpKey": []}, {"serverKey": []}], NO_AUTH: [],
}
# Statuses every operation may answer with the error shape (404 is also an unknown id or route).
_ERROR_STATUSES = {"400": "Bad input (code 3 INVALID_ARGUMENT, 9 FAILED_PRECONDITION, 11 OUT_OF_RANGE).",
                   "404": "Not found (code 5).", "409": "Conflict (code 6 ALREADY_EXISTS, 10 ABORTED).",
                   "429": "Rate limited (code 8).", "503": "The database is unreachable (code 14)."}
_AUTH_STATUSES = {"401": "Missing or invalid credentials (code 16).", "403": "Permission denied (code 7)."}
_DEFAULT = ("Any other error: the code is the gRPC code, the status its HTTP mapping (500 for code 13 INTERNAL).")


def refs_in(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        target = schema.get("$ref")
        if isinstance(target, str):
            yield target.rsplit("/", 1)[-1]
        for value in schema.values():
            yield from refs_in(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from refs_in(value)


def reachable(roots: Iterable[Schema]) -> set[str]:
    """The names of the messages the given schemas refer to, directly or through other messages."""
    seen: set[str] = set()
    pending = [name for root in roots for name in refs_in(root)]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(refs_in(MESSAGES[name]))
    return seen


def _components(operations: tuple[Operation, ...]) -> dict[str, Schema]:
    inputs = [op.body for op in operations if op.body is not None]
    inputs += [param.schema for op in operations for param in op.query]
    written = reachable(inputs)
    used = reachable([*inputs, *(op.reply for op in operations)])
    schemas: dict[str, Schema] = {}
    for name in sorted(used):
        schema = copy.deepcopy(MESSAGES[name])
        if name not in written:
            # Only ever sent by the server: a field we do not describe is a bug in the reply or here.
            schema["additionalProperties"] = False
        schemas[name] = schema
    schemas["Error"] = ERROR
    schemas["RpcError"] = RPC_ERROR
    return schemas


def _error_name(status: str, rpc: bool) -> str:
    return ("Rpc" if rpc else "") + "Error" + status.capitalize()


def _error_responses() -> dict[str, Any]:
    """One reusable response per error status, in the API's and the RPC route's shape."""
    texts = {**_ERROR_STATUSES, **_AUTH_STATUSES, "default": _DEFAULT}
    return {_error_name(status, rpc): {
        "description": text,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/" + ("RpcError" if rpc else "Error")}}}}
        for status, text in texts.items() for rpc in (False, True)}


def _error(status: str, rpc: bool) -> dict[str, Any]:
    return {"$ref": "#/components/responses/" + _error_name(status, rpc)}


def _responses(op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if op.upgrade:
        # Refused before the upgrade as Nakama does: a plain-text reason.
        text = {"text/plain": {"schema": STRING}}
        return {"101": {"description": "Switching to the WebSocket protocol."},
                "400": {"description": "Invalid format parameter, or not a WebSocket upgrade.", "content": text},
                "401": {"description": "Missing or invalid token.", "content": text},
                "default": _error("default", False)}
    elif op.path == "/":
        responses["200"] = {"description": "Up (no body)."}
    elif op.rpc:
        responses["200"] = {"description": "The function's reply: {\"payload\": ...}, or the raw payload with "
                                           "?unwrap (Content-Type as the request's, text/plain without one).",
                            "content": {JSON: {"schema": op.reply}, "*/*": {"schema": STRING}}}
    else:
        responses["200"] = {"description": "Success.", "content": {JSON: {"schema": op.reply}}}
    if op.path != "/":
        for status in _ERROR_STATUSES:
            responses[status] = _error(status, op.rpc)
    if op.auth != NO_AUTH or op.upgrade:
        for status in _AUTH_STATUSES:
            responses[status] = _error(status, op.rpc)
    responses["default"] = _error("default", op.rpc)
    return responses


def _operation(op: Operation, method: str) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": STRING} for name in _PATH_PARAM.findall(op.path)]
    for param in op.query:
        entry: dict[str, Any] = {"name": param.name, "in": "query", "required": False, "schema": param.schema}
        if param.schema.get("type") == "array":
            entry["style"] = "form"
            entry["explode"] = True
        parameters.append(entry)
    operation: dict[str, Any] = {"operationId": op.operation_id if method != "head" else "Head" + op.operation_id,
                                 "security": _SECURITY[op.auth], "responses": _responses(op)}
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        content: dict[str, Any] = {JSON: {"schema": op.body}}
        if op.rpc:
            content["*/*"] = {"schema": STRING}
        operation["requestBody"] = {"required": False, "content": content}
    if method == "head":
        # HEAD: the GET's statuses without bodies.
        operation["responses"] = {status: {"description": reply.get("description", "An error (no body).")}
                                  for status, reply in operation["responses"].items()}
    return operation


def api_document(operations: tuple[Operation, ...] = OPERATIONS) -> Document:
    """The HTTP API on socket.port."""
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        item = paths.setdefault(op.path, {})
        item[op.method.lower()] = _operation(op, op.method.lower())
        if op.method == "GET" and op.head:
            item["head"] = _operation(op, "head")
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "nakama-py HTTP API", "version": __version__,
                 "description": "Nakama's HTTP API as nakama-py serves it. JSON bodies use protobuf field names "
                                "(lowerCamelCase names are accepted on input), int64 values are strings (numbers "
                                "are accepted on input), enums are numbers, zero values are left out of replies, "
                                "and an empty reply is {}. Errors are {\"code\", \"message\"} with the gRPC code "
                                "and its HTTP status; RPC errors add \"error\". Generated by `nakama-py openapi`."},
        "servers": [{"url": "http://127.0.0.1:7350", "description": "socket.port"}],
        "paths": paths,
        "components": {"schemas": _components(operations), "responses": _error_responses(),
                       "securitySchemes": SECURITY_SCHEMES},
    }


def render(document: Document) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
