"""Session and refresh tokens: HS256 JWTs with Nakama's claims.

Claims are ``tid, uid, usn, vrs, exp, iat`` in that order, ``vrs`` left out when
empty, times as integer seconds. The claims JSON is pure ASCII with ``>``, ``?``
and ``~`` escaped, because nakama-js 2.8.0, nakama-defold and nakama-python
decode the payload with a plain base64 decoder that breaks on the ``-``/``_``
those bytes produce in base64url.

Token ids are UUIDv7: they carry the issue time to the millisecond, which lets a
"revoke everything before now" tell apart tokens issued in the same second.
"""

from __future__ import annotations

import json
import os
import time
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_encode
from jwt.warnings import InsecureKeyLengthWarning

ALGORITHM = "HS256"
# Nakama's default keys are short; operators are told at start-up to replace them (config.default_secrets),
# so the library's per-token warning only adds noise.
warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
# The variables of a session that has none (most): one read-only mapping shared by every decoded token,
# instead of an empty dict each (80 bytes per token in the verified-token cache).
NO_VARS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SessionClaims:
    token_id: str
    user_id: str
    username: str
    vars: Mapping[str, str] = field(default_factory=dict)  # read-only: NO_VARS is shared
    expires_at: int = 0
    issued_at: int = 0

    @property
    def issued_us(self) -> int:
        """Issue time in microseconds: from a UUIDv7 token id, else from ``iat``."""
        return issued_us_of(self.token_id, self.issued_at)


def uuid7(now_ns: int | None = None) -> str:
    """A UUIDv7 whose 12 ``rand_a`` bits hold the sub-millisecond fraction (RFC 9562, method 3):
    a logout of every session compares issue times with the revocation's to the microsecond, so a
    token issued just before it is never mistaken for one issued just after."""
    ns = time.time_ns() if now_ns is None else now_ns
    ms, rest = divmod(ns, 1_000_000)
    fraction = rest * 4096 // 1_000_000
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= fraction << 64
    value |= 0b10 << 62
    value |= int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def issued_us_of(token_id: str, issued_at: int) -> int:
    try:
        parsed = uuid.UUID(token_id)
    except ValueError:
        return issued_at * 1_000_000
    if parsed.version == 7:
        fraction = (parsed.int >> 64) & 0xFFF
        return (parsed.int >> 80) * 1000 + fraction * 1000 // 4096
    return issued_at * 1_000_000


def _escape(text: str) -> str:
    return text.replace(">", "\\u003e").replace("?", "\\u003f").replace("~", "\\u007e").replace(
        "\x7f", "\\u007f")


def client_safe_json(value: Any) -> str:
    """ASCII-only compact JSON with the bytes that would put ``-``/``_`` into base64url escaped."""
    return _escape(json.dumps(value, ensure_ascii=True, separators=(",", ":")))


class InvalidToken(Exception):
    pass


# The JWS header never changes: {"alg":"HS256","typ":"JWT"}, as Nakama writes it.
_HEADER_SEGMENT = base64url_encode(b'{"alg":"HS256","typ":"JWT"}')


class TokenCodec:
    def __init__(self, key: str, lifetime_sec: int) -> None:
        self.key = key
        self.lifetime_sec = lifetime_sec
        # pyjwt's HS256 signer with the key prepared once: jwt.encode re-validates the key and
        # re-encodes the header on every call, which is most of a sign-in's CPU.
        self._signer = HMACAlgorithm(HMACAlgorithm.SHA256)
        self._prepared_key = self._signer.prepare_key(key)

    def encode(self, claims: SessionClaims) -> str:
        payload: dict[str, Any] = {"tid": claims.token_id, "uid": claims.user_id, "usn": claims.username}
        if claims.vars:
            payload["vrs"] = claims.vars
        payload["exp"] = claims.expires_at
        payload["iat"] = claims.issued_at
        signing_input = _HEADER_SEGMENT + b"." + base64url_encode(client_safe_json(payload).encode("ascii"))
        signature = base64url_encode(self._signer.sign(signing_input, self._prepared_key))
        return (signing_input + b"." + signature).decode("ascii")

    def decode(self, token: str) -> SessionClaims:
        try:
            payload = jwt.decode(token, self.key, algorithms=[ALGORITHM],
                                 options={"require": ["exp"], "verify_iat": False})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        user_id = payload.get("uid")
        try:
            uuid.UUID(str(user_id))
        except ValueError:
            raise InvalidToken("uid is not a UUID") from None
        variables = payload.get("vrs") or {}
        if not isinstance(variables, dict):
            raise InvalidToken("vrs is not an object")
        exp, iat = payload.get("exp"), payload.get("iat", 0)
        if not isinstance(exp, int) or not isinstance(iat, int):
            raise InvalidToken("exp/iat are not integers")
        return SessionClaims(
            token_id=str(payload.get("tid", "")),
            user_id=str(user_id),
            username=str(payload.get("usn", "")),
            vars={str(k): str(v) for k, v in variables.items()} if variables else NO_VARS,
            expires_at=exp,
            issued_at=iat,
        )
