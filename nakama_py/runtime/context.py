"""``ctx``: the immutable call context every module function receives (Nakama's §8.2 fields).

Building one costs a handful of attribute stores: the fields shared by every call
(env, node, version) live in one ``RuntimeInfo``, the user fields are read from the
session claims, and the HTTP fields (headers, query parameters, client address)
are decoded from the request only when the function first reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from nakama_py.core.tokens import SessionClaims
from nakama_py.runtime.client_address import client_address
from nakama_py.wire.cors import canonical_header
from nakama_py.wire.request_view import RequestView

EMPTY: Mapping[str, Any] = MappingProxyType({})

# Nakama's execution modes, plus "background" for nakama-py's single-leader jobs.
RPC = "rpc"
BEFORE = "before"
AFTER = "after"
RUN_ONCE = "run_once"
LEADERBOARD_RESET = "leaderboard_reset"
SHUTDOWN = "shutdown"
BACKGROUND = "background"
EVENT = "event"
TOURNAMENT_END = "tournament_end"
TOURNAMENT_RESET = "tournament_reset"
HTTP = "http"  # a module HTTP route (initializer.register_http)
EVENT_LOG = "event_log"  # an event log consumer or screen (initializer.register_event_log_consumer)
MATCHMAKER = "matchmaker"

# Nakama strips the header its gateway sets for itself.
_HIDDEN_HEADERS = frozenset({"Grpc-Timeout"})


class RuntimeInfo:
    """What every context of one server process shares."""

    __slots__ = ("env", "node", "proxy_count", "version")

    def __init__(self, env: Mapping[str, str], node: str, version: str, proxy_count: int = 1) -> None:
        self.env: Mapping[str, str] = MappingProxyType(dict(env))
        self.node = node
        self.version = version
        self.proxy_count = proxy_count


class Context:
    """Read-only. ``user_id``/``username``/``user_session_exp`` are None unless a session token
    was used; ``headers``/``query_params`` (name → tuple of values) are empty outside HTTP calls."""

    __slots__ = ("_claims", "_client", "_headers", "_info", "_query", "_request", "execution_mode", "lang",
                 "session_id")

    _info: RuntimeInfo
    _claims: SessionClaims | None
    _request: RequestView | None
    _headers: Mapping[str, tuple[str, ...]] | None
    _query: Mapping[str, tuple[str, ...]] | None
    _client: tuple[str | None, str | None] | None
    execution_mode: str
    session_id: str | None
    lang: str | None

    def __init__(self, info: RuntimeInfo, execution_mode: str, claims: SessionClaims | None = None,
                 request: RequestView | None = None, *, session_id: str | None = None, lang: str | None = None,
                 client: tuple[str | None, str | None] | None = None) -> None:
        """``session_id``, ``lang`` and ``client`` (ip, port) are given for calls made over a socket."""
        setter = object.__setattr__
        setter(self, "_info", info)
        setter(self, "execution_mode", execution_mode)
        setter(self, "_claims", claims)
        setter(self, "_request", request)
        setter(self, "_headers", None)
        setter(self, "_query", None)
        setter(self, "_client", client)
        setter(self, "session_id", session_id)
        setter(self, "lang", lang)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ctx is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ctx is read-only")

    # --- always present ---------------------------------------------------------

    @property
    def env(self) -> Mapping[str, str]:
        """``runtime.env`` as a mapping (``--runtime.env key=value``)."""
        return self._info.env

    @property
    def node(self) -> str:
        return self._info.node

    @property
    def version(self) -> str:
        return self._info.version

    # --- the user of a session-token call ----------------------------------------

    @property
    def user_id(self) -> str | None:
        return self._claims.user_id if self._claims is not None else None

    @property
    def username(self) -> str | None:
        return self._claims.username if self._claims is not None else None

    @property
    def vars(self) -> Mapping[str, str]:
        """The session's vars (``{}`` without a session or when it had none)."""
        return MappingProxyType(self._claims.vars) if self._claims is not None and self._claims.vars else EMPTY

    @property
    def user_session_exp(self) -> int | None:
        """When the caller's session token expires, in unix seconds."""
        return self._claims.expires_at if self._claims is not None else None

    # --- the HTTP request ----------------------------------------------------------

    @property
    def headers(self) -> Mapping[str, tuple[str, ...]]:
        """Request headers by Go-canonical name (``X-Custom-Id``), each with all its values."""
        if self._headers is None:
            collected: dict[str, list[str]] = {}
            if self._request is not None:
                for name, value in self._request.headers.items():
                    key = canonical_header(name)
                    if key not in _HIDDEN_HEADERS:
                        collected.setdefault(key, []).append(value)
            headers: Mapping[str, tuple[str, ...]] = MappingProxyType({k: tuple(v) for k, v in collected.items()})
            object.__setattr__(self, "_headers", headers)
            return headers
        return self._headers

    @property
    def query_params(self) -> Mapping[str, tuple[str, ...]]:
        """Query parameters (``http_key`` left out), each with all its values."""
        if self._query is None:
            collected: dict[str, list[str]] = {}
            if self._request is not None:
                for name, value in self._request.query.items():
                    if name != "http_key":
                        collected.setdefault(name, []).append(value)
            query: Mapping[str, tuple[str, ...]] = MappingProxyType({k: tuple(v) for k, v in collected.items()})
            object.__setattr__(self, "_query", query)
            return query
        return self._query

    def _address(self) -> tuple[str | None, str | None]:
        if self._client is None:
            address: tuple[str | None, str | None] = (None, None)
            request = self._request
            if request is not None:
                transport = request.transport
                peer = transport.get_extra_info("peername") if transport is not None else None
                peer_pair = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else None
                address = client_address(request.headers.get("X-Forwarded-For"), peer_pair,
                                         self._info.proxy_count)
            object.__setattr__(self, "_client", address)
            return address
        return self._client

    @property
    def client_ip(self) -> str | None:
        return self._address()[0]

    @property
    def client_port(self) -> str | None:
        return self._address()[1]

    def as_dict(self) -> dict[str, Any]:
        """Every field as plain data (for logging or returning from a debug RPC)."""
        return {
            "env": dict(self.env), "execution_mode": self.execution_mode, "node": self.node,
            "version": self.version, "headers": {k: list(v) for k, v in self.headers.items()},
            "query_params": {k: list(v) for k, v in self.query_params.items()}, "user_id": self.user_id,
            "username": self.username, "vars": dict(self.vars), "user_session_exp": self.user_session_exp,
            "client_ip": self.client_ip, "client_port": self.client_port, "session_id": self.session_id,
            "lang": self.lang,
        }

    def __repr__(self) -> str:
        return (f"Context(execution_mode={self.execution_mode!r}, node={self.node!r}, user_id={self.user_id!r}, "
                f"username={self.username!r})")
