"""Building responses: JSON bodies and Nakama's two error shapes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from nakama_py.errors import NakamaError
from nakama_py.wire.encoding import compact, dumps, dumps_go
from nakama_py.wire.status import http_status

JSON = "application/json"
# The gRPC code an error response stands for, read by the metrics measurement point.
GRPC_CODE = web.ResponseKey("grpc_code", int)
EMPTY_OBJECT = b"{}"


def json_response(message: dict[str, Any], status: int = 200) -> web.Response:
    """A protobuf-JSON message: zero-valued fields are dropped."""
    return web.Response(body=dumps(compact(message)), status=status, content_type=JSON)


def raw_json_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type=JSON)


def empty_response() -> web.Response:
    """google.protobuf.Empty: ``{}`` with 200, never 204, since clients parse every 2xx body."""
    return web.Response(body=EMPTY_OBJECT, content_type=JSON)


def error_response(code: int, message: str) -> web.Response:
    """The gateway's error shape: ``{"code": N, "message": "..."}``."""
    response = web.Response(body=dumps({"code": code, "message": message}), status=http_status(code),
                            content_type=JSON)
    response[GRPC_CODE] = code
    return response


def rpc_error_response(code: int, message: str, error: Any = None) -> web.Response:
    """The /v2/rpc error shape, which also carries an ``error`` key."""
    body = {"error": message if error is None else error, "message": message, "code": code}
    response = web.Response(body=dumps_go(body), status=http_status(code), content_type=JSON)
    response[GRPC_CODE] = code
    return response


def from_error(exc: NakamaError) -> web.Response:
    return error_response(exc.code, exc.message)
