"""Console sign-in sessions: a JWT signed with ``console.signing_key`` in an HttpOnly cookie, and the
CSRF token bound to it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

import jwt

COOKIE = "nakama_py_console"
ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    username: str
    session_id: str
    expires_at: int


MAX_SIGNED_OUT = 10_000  # signed-out sessions remembered until they expire; the oldest go first beyond this


class ConsoleTokens:
    def __init__(self, signing_key: str, expiry_sec: int) -> None:
        self._key = signing_key
        self.expiry_sec = expiry_sec
        # Session id -> expiry of sessions signed out before they expired: a copied cookie stops working too.
        # In this process's memory (the console is served by one process of a node).
        self._signed_out: OrderedDict[str, int] = OrderedDict()

    def sign_out(self, session: ConsoleSession) -> None:
        now = int(time.time())
        while self._signed_out and (len(self._signed_out) >= MAX_SIGNED_OUT or
                                    next(iter(self._signed_out.values())) < now):
            self._signed_out.popitem(last=False)
        self._signed_out[session.session_id] = session.expires_at

    def issue(self, username: str) -> str:
        now = int(time.time())
        claims = {"usn": username, "sid": secrets.token_urlsafe(16), "iat": now, "exp": now + self.expiry_sec}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> ConsoleSession | None:
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], options={"require": ["exp", "usn", "sid"]})
        except jwt.PyJWTError:
            return None
        if str(claims["sid"]) in self._signed_out:
            return None
        return ConsoleSession(str(claims["usn"]), str(claims["sid"]), int(claims["exp"]))

    def csrf_token(self, session: ConsoleSession) -> str:
        """Derived from the session, so a page of one session cannot post to another (no server-side state)."""
        return hmac.new(self._key.encode(), f"csrf:{session.session_id}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: ConsoleSession, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session), token)
