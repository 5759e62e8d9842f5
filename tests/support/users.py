"""Users made straight in the database with a signed-in session, for tests of other features."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from nakama_py.state import ServerState


@dataclass(frozen=True)
class TestUser:
    __test__ = False  # a helper, not a test class
    user_id: str
    username: str
    token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def create_user(state: ServerState, username: str | None = None) -> TestUser:
    user_id = str(uuid.uuid4())
    username = username or "u" + secrets.token_hex(6)
    await state.db.execute("INSERT INTO users (id, username) VALUES (%s, %s)", (user_id, username))
    issued = state.sessions.issue(user_id, username)
    return TestUser(user_id, username, issued.token, issued.refresh_token)


def create_user_in(database_url: str, username: str | None = None, *,
                   encryption_key: str = "defaultencryptionkey",
                   refresh_encryption_key: str = "defaultrefreshencryptionkey",
                   token_expiry_sec: int = 7200) -> TestUser:
    """A user with tokens, for a server process running on ``database_url`` with these session keys.

    Client scripts can resume such a session with nakama-js ``Session.restore(token, refresh_token)``.
    """
    import time

    import psycopg

    from nakama_py.core.tokens import SessionClaims, TokenCodec, uuid7

    user_id = str(uuid.uuid4())
    username = username or "u" + secrets.token_hex(6)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, username) VALUES (%s, %s)", (user_id, username))
    now = int(time.time())
    claims = SessionClaims(uuid7(), user_id, username, {}, now + token_expiry_sec, now)
    refresh = SessionClaims(claims.token_id, user_id, username, {}, now + 7200, now)
    return TestUser(user_id, username, TokenCodec(encryption_key, token_expiry_sec).encode(claims),
                    TokenCodec(refresh_encryption_key, 7200).encode(refresh))
