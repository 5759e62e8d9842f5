"""What every handler needs from a request: the server state and the caller."""

from __future__ import annotations

from aiohttp import web

from nakama_py.core.tokens import SessionClaims
from nakama_py.errors import unauthenticated
from nakama_py.state import STATE, ServerState
from nakama_py.wire.middleware import USER_ID
from nakama_py.wire.request import basic_username

__all__ = ["basic_username", "bearer_session", "require_server_key", "state_of"]


def state_of(request: web.Request) -> ServerState:
    return request.app[STATE]


def bearer_session(request: web.Request) -> SessionClaims:
    """The caller of a route that takes ``Authorization: Bearer <token>``."""
    header = request.headers.get("Authorization")
    if not header:
        raise unauthenticated("Auth token required")
    if not header.startswith("Bearer "):
        raise unauthenticated("Auth token invalid")
    claims = request.app[STATE].sessions.verify_session(header[7:])
    request[USER_ID] = claims.user_id
    return claims


def require_server_key(request: web.Request) -> None:
    """Routes authenticated by the server key as the Basic username (password ignored)."""
    values = request.headers.getall("Authorization", [])
    if len(values) != 1:
        raise unauthenticated("Server key required")
    username = basic_username(values[0])
    if username is None or username != request.app[STATE].config.socket.server_key:
        raise unauthenticated("Server key invalid")
