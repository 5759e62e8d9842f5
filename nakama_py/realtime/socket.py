"""``GET /ws``: authenticate as Nakama does, upgrade, then read envelopes until the socket closes.

Refusals happen before the upgrade with Nakama's plain-text bodies: 400 "Invalid format
parameter", 401 "Missing or invalid token" (no, garbage, expired or revoked token).
Frames of the wrong kind (text in protobuf mode or the reverse) and undecodable envelopes close
the socket, as in Nakama; frames above ``socket.max_message_size_bytes`` close it with 1009.
Messages beyond the socket's rate limit (``realtime.rate_limit``) get an error and are dropped.
"""

from __future__ import annotations

import logging

from aiohttp import WSCloseCode, WSMsgType, web

from nakama_py.errors import NakamaError
from nakama_py.realtime.codec import Format, MalformedEnvelope, decode
from nakama_py.realtime.errors import ErrorCode
from nakama_py.realtime.pipeline import error_envelope
from nakama_py.realtime.rate_limit import MessageBucket
from nakama_py.realtime.session import SocketSession
from nakama_py.runtime.client_address import client_address
from nakama_py.state import STATE
from nakama_py.wire.middleware import USER_ID

log = logging.getLogger("nakama_py.realtime")

RATE_LIMITED = "Too many messages: slow down"
FORMATS = {"": Format.JSON, "json": Format.JSON, "protobuf": Format.PROTOBUF}


def _refuse(status: int, text: str) -> web.Response:
    # As Go's http.Error writes it.
    response = web.Response(status=status, text=text + "\n", content_type="text/plain", charset="utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _client(request: web.Request, proxy_count: int) -> tuple[str | None, str | None]:
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    pair = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else None
    return client_address(request.headers.get("X-Forwarded-For"), pair, proxy_count)


async def websocket(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    query = request.query
    fmt = FORMATS.get(query.get("format", ""))
    if fmt is None:
        return _refuse(400, "Invalid format parameter")
    auth = request.headers.get("Authorization")
    # A header, when present, must be a bearer token; otherwise the query parameter.
    token = (auth[7:] if auth.startswith("Bearer ") else "") if auth is not None else query.get("token", "")
    if not token:
        return _refuse(401, "Missing or invalid token")
    try:
        claims = state.sessions.verify_session(token)
    except NakamaError:
        return _refuse(401, "Missing or invalid token")
    request[USER_ID] = claims.user_id
    socket_config = state.config.socket
    ws = web.WebSocketResponse(autoping=False, max_msg_size=socket_config.max_message_size_bytes)
    await ws.prepare(request)

    realtime = state.realtime
    session = SocketSession(ws, claims, fmt, query.get("lang") or "en",
                            _client(request, socket_config.proxy_count), socket_config)
    await realtime.open(session, status=query.get("status", "").lower() in ("true", "1", "t"))
    expected = WSMsgType.BINARY if fmt is Format.PROTOBUF else WSMsgType.TEXT
    bucket = MessageBucket(socket_config.message_rate_per_sec, socket_config.message_burst)
    reason = ""
    close_code = WSCloseCode.OK
    try:
        async for message in ws:
            if message.type == WSMsgType.PING:
                await ws.pong(message.data)
                continue
            if message.type == WSMsgType.PONG:
                session.saw_pong()
                continue
            if message.type == WSMsgType.ERROR:
                reason = f"read error: {ws.exception()}"
                break
            if message.type != expected:
                reason, close_code = "received unexpected WebSocket message type", WSCloseCode.UNSUPPORTED_DATA
                break
            session.saw_message()
            try:
                envelope = decode(message.data, fmt)
            except MalformedEnvelope:
                log.warning("received malformed payload", extra={"fields": {"sid": session.id}})
                reason, close_code = "received malformed payload", WSCloseCode.UNSUPPORTED_DATA
                break
            if not bucket.take():
                # Over the limit: answered, not processed. A flood that does not read its replies
                # fills the outgoing queue and is disconnected.
                session.send(error_envelope(envelope.cid, ErrorCode.RUNTIME_EXCEPTION, RATE_LIMITED))
                continue
            if not await realtime.pipeline.process(session, envelope):
                reason = "error processing message"
                break
    finally:
        if ws.close_code == WSCloseCode.MESSAGE_TOO_BIG:
            reason = "message too big"
        await session.close(reason, close_code if not ws.closed else WSCloseCode.OK)
    return ws


ROUTES = [web.get("/ws", websocket)]
