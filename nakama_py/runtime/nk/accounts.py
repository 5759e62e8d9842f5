"""``nk.account_*``, ``nk.users_*`` and ``nk.authenticate_*``: accounts, users and sessions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nakama_py.core.accounts import AccountService
from nakama_py.core.sessions import SessionService
from nakama_py.errors import AccountNotFound, invalid_argument
from nakama_py.runtime.call_scope import tracked

if TYPE_CHECKING:
    from nakama_py.runtime.types import Account, AuthResult, User


class AccountCalls:
    _accounts: AccountService
    _sessions: SessionService

    @tracked
    async def account_get_id(self, user_id: str) -> Account:
        return await self._accounts.get_account(user_id)

    @tracked
    async def account_update_id(self, user_id: str, *, username: str | None = None, display_name: str | None = None,
                                avatar_url: str | None = None, lang_tag: str | None = None,
                                location: str | None = None, timezone: str | None = None,
                                metadata: Mapping[str, Any] | None = None) -> None:
        await self._accounts.update_account(
            user_id, username=username, display_name=display_name, avatar_url=avatar_url, lang_tag=lang_tag,
            location=location, timezone=timezone, metadata=dict(metadata) if metadata is not None else None)

    @tracked
    async def account_delete_id(self, user_id: str) -> None:
        await self._accounts.delete_account(user_id)

    @tracked
    async def users_get_id(self, user_ids: Sequence[str]) -> list[User]:
        return await self._accounts.get_users(ids=list(user_ids))

    @tracked
    async def users_get_username(self, usernames: Sequence[str]) -> list[User]:
        return await self._accounts.get_users(usernames=list(usernames))

    @tracked
    async def authenticate_custom(self, id: str, username: str = "", create: bool = True) -> AuthResult:
        return await self._accounts.authenticate_custom(id, username=username, create=create)

    @tracked
    async def authenticate_device(self, id: str, username: str = "", create: bool = True) -> AuthResult:
        return await self._accounts.authenticate_device(id, username=username, create=create)

    @tracked
    async def authenticate_email(self, email: str, password: str, username: str = "",
                                 create: bool = True) -> AuthResult:
        return await self._accounts.authenticate_email(email, password, username=username, create=create)

    @tracked
    async def authenticate_token_generate(self, user_id: str, username: str | None = None, expires_at: int = 0,
                                          vars: Mapping[str, str] | None = None) -> tuple[str, int]:
        """A session token for a user: ``(token, expires_at)``. Without a username, the user's own is
        used; ``expires_at`` 0 means the configured ``session.token_expiry_sec`` from now."""
        try:
            user_id = str(uuid.UUID(str(user_id)))
        except ValueError:
            raise invalid_argument("expects valid user id") from None
        if not username:
            users = await self._accounts.get_users(ids=[user_id])
            if not users:
                raise AccountNotFound()
            username = users[0].username
        issued = self._sessions.issue(user_id, username, dict(vars or {}), expires_at=expires_at or None)
        return issued.token, issued.claims.expires_at
