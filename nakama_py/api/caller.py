"""What every handler needs from a request: the server state and the caller."""

from __future__ import annotations

import hmac

from nakama_py.core.tokens import SessionClaims
from nakama_py.errors import unauthenticated
from nakama_py.runtime.client_address import client_address
from nakama_py.state import STATE, ServerState
from nakama_py.wire.middleware import USER_ID
from nakama_py.wire.request import basic_username
from nakama_py.wire.request_view import RequestView

__all__ = ["basic_username", "bearer_session", "client_ip", "require_server_key", "same_key", "state_of"]


def state_of(request: RequestView) -> ServerState:
    return request.app[STATE]


def bearer_session(request: RequestView) -> SessionClaims:
    """The caller of a route that takes ``Authorization: Bearer <token>``."""
    header = request.headers.get("Authorization")
    if not header:
        raise unauthenticated("Auth token required")
    if not header.startswith("Bearer "):
        raise unauthenticated("Auth token invalid")
    claims = request.app[STATE].sessions.verify_session(header[7:])
    request[USER_ID] = claims.user_id
    return claims


def client_ip(request: RequestView, proxy_count: int) -> str | None:
    """The caller's address as Nakama takes it (X-Forwarded-For past ``socket.proxy_count`` proxies)."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    pair = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else None
    return client_address(request.headers.get("X-Forwarded-For"), pair, proxy_count)[0]


def same_key(given: str, expected: str) -> bool:
    """A constant-time comparison of a key a client sent with the configured one (bytes: compare_digest
    refuses non-ASCII text), so response times tell an attacker nothing about how much of it matched."""
    return hmac.compare_digest(given.encode(), expected.encode())


def require_server_key(request: RequestView) -> None:
    """Routes authenticated by the server key as the Basic username (password ignored)."""
    values = request.headers.getall("Authorization", [])
    if len(values) != 1:
        raise unauthenticated("Server key required")
    username = basic_username(values[0])
    if username is None or not same_key(username, request.app[STATE].config.socket.server_key):
        raise unauthenticated("Server key invalid")
