"""Users made straight in the database with a signed-in session, for tests of other features."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from nakama_py.state import ServerState


@dataclass(frozen=True)
class TestUser:
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
