"""``nk.users_ban_id``/``users_unban_id``, ``nk.session_disconnect`` and ``nk.session_logout``: the console's
ban and the API's logout, for server code. Sockets are closed on whichever process holds them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from nakama_py.core.accounts import AccountService
from nakama_py.core.disconnects import Disconnects
from nakama_py.core.sessions import SessionService
from nakama_py.errors import invalid_argument
from nakama_py.runtime.call_scope import tracked


class SessionCalls:
    _accounts: AccountService
    _sessions: SessionService
    _disconnects: Disconnects

    @tracked
    async def users_ban_id(self, user_ids: Sequence[str]) -> None:
        """The users cannot sign in again, their tokens stop working and their sockets get notification
        -8 and are closed; ids of no account are ignored."""
        await self._accounts.ban_users(user_ids)

    @tracked
    async def users_unban_id(self, user_ids: Sequence[str]) -> None:
        await self._accounts.unban_users(user_ids)

    @tracked
    async def session_disconnect(self, session_id: str) -> None:
        """Close the socket with this session id (``ctx.session_id`` of a socket RPC), wherever it is."""
        await self._disconnects.disconnect_session(session_id)

    @tracked
    async def session_logout(self, user_id: str, token: str | None = None, refresh_token: str | None = None) -> None:
        """Revoke the given tokens of the user, or all of the user's tokens when neither is given."""
        try:
            user_id = str(uuid.UUID(str(user_id)))
        except ValueError:
            raise invalid_argument("expects valid user id") from None
        await self._sessions.logout_user(user_id, token or "", refresh_token or "")
