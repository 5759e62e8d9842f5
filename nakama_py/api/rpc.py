"""``GET|POST /v2/rpc/{id}``: calling a runtime module's RPC over HTTP, as Nakama's RpcFuncHttp does.

Auth, in order: ``?http_key=``, then ``Authorization: Basic`` whose username is the
http key, then ``Authorization: Bearer <session>``. An http-key call has no user.
Without ``unwrap`` a POST body is a JSON string holding the payload and the reply
is ``{"payload": "..."}``; with ``?unwrap`` (any value) both are raw and the reply
takes the request's Content-Type (``text/plain`` without one). Beyond Nakama: a GET
passes ``?payload=`` (nakama-js ``rpcHttpKey`` sends it), and a POST body that is
a JSON object is taken as the payload text (nakama-python sends that).

This is the hottest route: it builds no more than the response and a lazy ctx, and the fast lane
(wire/fast_lane.py) serves it without aiohttp's request machinery when a request allows it.
"""

from __future__ import annotations

import math

import orjson
from aiohttp import web

from nakama_py.api.caller import basic_username, same_key
from nakama_py.errors import Code, NakamaError, RateLimitedError
from nakama_py.runtime.context import RPC, Context
from nakama_py.runtime.service import InternalRpcError
from nakama_py.state import STATE
from nakama_py.wire.encoding import dumps_go
from nakama_py.wire.middleware import USER_ID
from nakama_py.wire.request_view import RequestView
from nakama_py.wire.response import GRPC_CODE
from nakama_py.wire.status import http_status

JSON = "application/json"

# Nakama's fixed bodies, byte for byte (server/api_rpc.go).
AUTH_TOKEN_INVALID = b'{"error":"Auth token invalid","message":"Auth token invalid","code":16}'
HTTP_KEY_INVALID = b'{"error":"HTTP key invalid","message":"HTTP key invalid","code":16}'
NO_AUTH = b'{"error":"Auth token or HTTP key required","message":"Auth token or HTTP key required","code":16}'
RPC_ID_MUST_BE_SET = b'{"error":"RPC ID must be set","message":"RPC ID must be set","code":3}'
RPC_NOT_FOUND = b'{"error":"RPC function not found","message":"RPC function not found","code":5}'
INTERNAL_SERVER_ERROR = b'{"error":"Internal Server Error","message":"Internal Server Error","code":13}'
BAD_JSON = (b'{"error":"json: cannot unmarshal object into Go value of type string",'
            b'"message":"json: cannot unmarshal object into Go value of type string","code":3}')
BODY_TOO_LARGE = b'{"code":3, "message":"http: request body too large"}'


def _go_json(message: dict[str, object]) -> bytes:
    """JSON as Go's encoding/json writes it (Nakama builds these replies with it)."""
    body = dumps_go(message)
    if b"\xe2\x80\xa8" in body or b"\xe2\x80\xa9" in body:
        body = body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return body


def _fixed(body: bytes, code: Code) -> web.Response:
    response = web.Response(body=body, status=http_status(code), content_type=JSON)
    response[GRPC_CODE] = code
    return response


def _function_error(exc: NakamaError) -> web.Response:
    """Nakama's shape for an error out of the function; ``error`` is the error value as Go encodes it."""
    code = exc.code
    error: dict[str, object] = {} if isinstance(exc, InternalRpcError) else {"Message": exc.message, "Code": code}
    response = web.Response(body=_go_json({"code": code, "error": error, "message": exc.message}),
                            status=http_status(code), content_type=JSON)
    response[GRPC_CODE] = code
    if isinstance(exc, RateLimitedError):
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return response


def _payload_of_body(raw: bytes) -> str | None:
    """The payload of a non-unwrap POST body: a JSON string's value, or the text of a JSON object.

    None when the body is neither (Nakama's 400)."""
    first = raw.lstrip()[:1]
    if first == b"{":
        try:
            if isinstance(orjson.loads(raw), dict):
                return raw.decode()
        except orjson.JSONDecodeError:
            return None
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, str):
        return value
    return "" if value is None else None


async def rpc(request: RequestView) -> web.StreamResponse:
    state = request.app[STATE]
    query = request.query
    claims = None
    http_key = query.get("http_key")
    if http_key:
        if not same_key(http_key, state.config.runtime.http_key):
            return _fixed(HTTP_KEY_INVALID, Code.UNAUTHENTICATED)
    else:
        auth = request.headers.get("Authorization")
        if auth is None:
            return _fixed(NO_AUTH, Code.UNAUTHENTICATED)
        key = basic_username(auth) if auth.startswith("Basic ") else None
        if key is not None:
            if not same_key(key, state.config.runtime.http_key):
                return _fixed(HTTP_KEY_INVALID, Code.UNAUTHENTICATED)
        else:
            if not auth.startswith("Bearer "):
                return _fixed(AUTH_TOKEN_INVALID, Code.UNAUTHENTICATED)
            try:
                claims = state.sessions.verify_session(auth[7:])
            except NakamaError:
                return _fixed(AUTH_TOKEN_INVALID, Code.UNAUTHENTICATED)
            request[USER_ID] = claims.user_id

    rpc_id = request.match_info["id"]
    if not rpc_id:
        return _fixed(RPC_ID_MUST_BE_SET, Code.INVALID_ARGUMENT)
    runtime = state.runtime
    entry = runtime.rpc(rpc_id)
    if entry is None:
        return _fixed(RPC_NOT_FOUND, Code.NOT_FOUND)

    unwrap = "unwrap" in query
    if request.method == "POST":
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _fixed(BODY_TOO_LARGE, Code.INVALID_ARGUMENT)
        if not raw:
            payload = ""
        elif unwrap:
            payload = raw.decode("utf-8", "surrogateescape")
        else:
            decoded = _payload_of_body(raw)
            if decoded is None:
                return _fixed(BAD_JSON, Code.INVALID_ARGUMENT)
            payload = decoded
    else:
        payload = query.get("payload", "")

    try:
        result = await runtime.call_rpc(entry, Context(runtime.info, RPC, claims, request), payload)
    except NakamaError as exc:
        return _function_error(exc)

    if unwrap:
        body = result if isinstance(result, bytes) else result.encode("utf-8", "surrogateescape")
        response = web.Response(body=body)
        response.headers["Content-Type"] = request.headers.get("Content-Type", "text/plain")
        return response
    try:
        text = result if isinstance(result, str) else result.decode()
        body = _go_json({"payload": text})
    except (UnicodeDecodeError, TypeError):
        entry.logger.error("RPC result cannot be encoded as a JSON string")
        return _fixed(INTERNAL_SERVER_ERROR, Code.INTERNAL)
    return web.Response(body=body, content_type=JSON)


ROUTES = [
    web.get("/v2/rpc/{id:.*}", rpc, allow_head=False),
    web.post("/v2/rpc/{id:.*}", rpc),
]
# The fast lane (wire/fast_lane.py) serves these too: the route's name in metrics, and its fixed part.
ROUTE_NAME = "/v2/rpc/{id}"
LANE_PREFIX = "/v2/rpc/"


