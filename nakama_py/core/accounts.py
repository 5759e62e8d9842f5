"""The account service: signing in, sessions for a signed-in user, and the account itself.

The runtime's ``nk`` and the REST handlers both call this; ``caller``-free because
an account is only ever acted on by its owner (REST) or by the server (runtime).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nakama_py.cluster.bus import ClusterBus
from nakama_py.config import Config
from nakama_py.core import account_rules as rules
from nakama_py.core.account_links import AccountLinks
from nakama_py.core.account_types import Account, AuthResult, User, account_from_row, is_set, user_from_row
from nakama_py.core.authentication import Authenticator
from nakama_py.core.login_attempts import Attempt, LoginAttempts
from nakama_py.core.online import OnlineUsers
from nakama_py.core.sessions import IssuedSession, SessionService
from nakama_py.core.social import OfflineSocialVerifier, SocialVerifier
from nakama_py.db import accounts as sql
from nakama_py.db.errors import DatabaseError, UniqueViolation
from nakama_py.db.keyed_reads import KeyedReads
from nakama_py.db.pool import Connection, Database
from nakama_py.errors import AccountBanned, AccountNotFound, UsernameTaken, internal, invalid_argument

__all__ = ["Account", "AccountService", "AuthResult", "User"]

log = logging.getLogger("nakama_py.accounts")

SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000000"

# Runs inside the deleting transaction: its writes commit or roll back with the deletion.
DeleteHandler = Callable[[str, Connection], Awaitable[None]]
# Runs once the deletion is committed, e.g. to drop the user's leaderboard records and ranks.
DeletedHandler = Callable[[str], Awaitable[object]]


def _valid_user_id(user_id: str) -> str:
    try:
        return str(uuid.UUID(user_id))
    except (ValueError, TypeError, AttributeError):
        raise invalid_argument("Invalid user ID.") from None


def _valid_ids(user_ids: Sequence[str]) -> list[str]:
    """The runtime's ban and unban: every id must be a UUID."""
    if isinstance(user_ids, str):
        raise invalid_argument("each user id must be a valid id string")
    try:
        return list(dict.fromkeys(str(uuid.UUID(str(user_id))) for user_id in user_ids))
    except ValueError:
        raise invalid_argument("each user id must be a valid id string") from None


class AccountService:
    def __init__(self, db: Database, sessions: SessionService, config: Config,
                 verifier: SocialVerifier | None = None, online: OnlineUsers | None = None,
                 bus: ClusterBus | None = None) -> None:
        self.db = db
        self.online = online or OnlineUsers()
        self.sessions = sessions
        self.config = config
        self.authenticator = Authenticator(db, config.social, verifier or OfflineSocialVerifier(),
                                           config.session.bcrypt_cost)
        self.login_attempts = LoginAttempts(db, config.session, bus)
        self.links = AccountLinks(db, config.session.bcrypt_cost)
        # Concurrent account reads go to the database together (db/keyed_reads.py).
        self._account_rows: KeyedReads[str, dict[str, Any]] = KeyedReads(
            lambda user_ids: sql.account_rows(self.db, user_ids))
        self._delete_handlers: list[DeleteHandler] = []
        self._deleted_handlers: list[DeletedHandler] = []
        self._banned_handlers: list[DeletedHandler] = []

    # --- signing in -------------------------------------------------------------------------------

    def client_attempt(self, client_ip: str | None) -> Attempt:
        """A client's sign-in from this address, inside Nakama's login attempt limits (core/login_attempts)."""
        return self.login_attempts.attempt(client_ip)

    async def authenticate_custom(self, id: str, *, username: str = "", create: bool = True,
                                  attempt: Attempt | None = None) -> AuthResult:
        return await self.authenticator.custom(id, username, create, attempt)

    async def authenticate_device(self, id: str, *, username: str = "", create: bool = True) -> AuthResult:
        return await self.authenticator.device(id, username, create)

    async def authenticate_email(self, email: str, password: str, *, username: str = "",
                                 create: bool = True, attempt: Attempt | None = None) -> AuthResult:
        return await self.authenticator.email(email, password, username, create, attempt)

    async def authenticate_apple(self, token: str, *, username: str = "", create: bool = True) -> AuthResult:
        return await self.authenticator.apple(token, username, create)

    async def authenticate_facebook(self, token: str, *, username: str = "", create: bool = True) -> AuthResult:
        return await self.authenticator.facebook(token, username, create)

    async def authenticate_facebook_instant_game(self, signed_player_info: str, *, username: str = "",
                                                 create: bool = True) -> AuthResult:
        return await self.authenticator.facebook_instant_game(signed_player_info, username, create)

    async def authenticate_gamecenter(self, player_id: str, bundle_id: str, timestamp_seconds: int, salt: str,
                                      signature: str, public_key_url: str, *, username: str = "",
                                      create: bool = True) -> AuthResult:
        return await self.authenticator.gamecenter(player_id, bundle_id, timestamp_seconds, salt, signature,
                                                   public_key_url, username, create)

    async def authenticate_google(self, token: str, *, username: str = "", create: bool = True) -> AuthResult:
        return await self.authenticator.google(token, username, create)

    async def authenticate_steam(self, token: str, *, username: str = "", create: bool = True) -> AuthResult:
        return await self.authenticator.steam(token, username, create)

    # --- sessions -----------------------------------------------------------------------------------

    async def start_session(self, result: AuthResult, variables: dict[str, str] | None = None) -> IssuedSession:
        """Tokens for a user who just signed in; with ``session.single_session`` older ones stop working."""
        if self.config.session.single_session:
            await self.sessions.revoke_user(result.user_id)
        return self.sessions.issue(result.user_id, result.username, variables)

    async def refresh_session(self, refresh_token: str, variables: dict[str, str] | None = None) -> IssuedSession:
        """New tokens from a refresh token: same token ID and issue time, the current username,
        and the old vars unless new ones are given (an empty map keeps them)."""
        if not refresh_token:
            raise invalid_argument("Refresh token is required.")
        claims = self.sessions.verify_refresh(refresh_token)
        try:
            found = await sql.username_and_disable_time(self.db, claims.user_id)
        except DatabaseError:
            log.exception("error looking up user by ID")
            raise internal("Error finding user account.") from None
        if found is None:
            raise AccountNotFound()
        username, disable_time = found
        if is_set(disable_time):
            raise AccountBanned()
        return self.sessions.issue(claims.user_id, username, variables or claims.vars,
                                   token_id=claims.token_id, issued_at=claims.issued_at)

    # --- the account --------------------------------------------------------------------------------

    async def get_account(self, user_id: str) -> Account:
        user_id = _valid_user_id(user_id)
        try:
            row = await self._account_rows.get(user_id)
        except DatabaseError:
            log.exception("error retrieving user account")
            raise internal("Error retrieving user account.") from None
        if row is None:
            raise AccountNotFound("Account not found.")
        return account_from_row(row)

    async def get_users(self, *, ids: Sequence[str] = (), usernames: Sequence[str] = (),
                        facebook_ids: Sequence[str] = ()) -> list[User]:
        if not ids and not usernames and not facebook_ids:
            return []
        valid_ids = []
        for user_id in ids:
            try:
                valid_ids.append(str(uuid.UUID(user_id)))
            except (ValueError, TypeError, AttributeError):
                raise invalid_argument("each user id must be a valid id string") from None
        try:
            rows = await sql.user_rows(self.db, valid_ids, list(usernames), list(facebook_ids))
        except DatabaseError:
            log.exception("error retrieving users")
            raise internal("Error retrieving user accounts.") from None
        return self.online.mark([user_from_row(row) for row in rows])

    async def update_account(self, user_id: str, *, username: str | None = None, display_name: str | None = None,
                             avatar_url: str | None = None, lang_tag: str | None = None,
                             location: str | None = None, timezone: str | None = None,
                             metadata: dict[str, Any] | None = None) -> None:
        """Set the given fields; ``""`` clears a field (sets NULL); an empty username changes nothing."""
        values: dict[str, Any] = {}
        if username:
            if rules.is_invalid_username(username):
                raise invalid_argument("Username invalid, no spaces or control characters allowed.")
            if rules.byte_len(username) > rules.USERNAME_MAX_BYTES:
                raise invalid_argument("Username invalid, must be 1-128 bytes.")
            values["username"] = username
        for column, value in (("display_name", display_name), ("timezone", timezone), ("location", location),
                              ("lang_tag", lang_tag), ("avatar_url", avatar_url)):
            if value is not None:
                values[column] = value or None
        if metadata is not None:
            values["metadata"] = metadata
        if not values:
            raise invalid_argument("No fields to update.")
        try:
            await sql.update_user(self.db, _valid_user_id(user_id), values)
        except UniqueViolation as exc:
            if exc.constraint == sql.USERNAME_KEY:
                raise UsernameTaken() from None
            raise internal("Error while trying to update account.") from None
        except DatabaseError:
            # e.g. a value too long for its column, or an empty lang_tag (NOT NULL)
            log.warning("could not update user account", exc_info=True)
            raise internal("Error while trying to update account.") from None

    def on_delete(self, handler: DeleteHandler) -> None:
        """Run ``handler(user_id, conn)`` inside the transaction that deletes an account."""
        self._delete_handlers.append(handler)

    def after_delete(self, handler: DeletedHandler) -> None:
        """Run ``handler(user_id)`` after an account's deletion is committed (and its tokens revoked)."""
        self._deleted_handlers.append(handler)

    async def delete_account(self, user_id: str, *, recorded: bool = True) -> None:
        """Delete the user (with a tombstone when ``recorded``) and revoke every token they hold."""
        user_id = _valid_user_id(user_id)
        if user_id == SYSTEM_USER_ID:
            raise internal("Cannot delete the system user.")
        try:
            async with self.db.transaction() as conn:
                deleted = await sql.delete_user(conn, user_id)
                if deleted:
                    for handler in self._delete_handlers:
                        await handler(user_id, conn)
                    if recorded:
                        await sql.insert_tombstone(conn, user_id)
        except DatabaseError:
            log.exception("error deleting user account")
            raise internal("Error deleting user account.") from None
        if not deleted:
            return
        await self.sessions.revoke_user(user_id)
        for after in self._deleted_handlers:
            try:
                await after(user_id)
            except Exception:  # the account is gone either way; what is left over is logged
                log.exception("cleanup after account deletion failed", extra={"fields": {"user_id": user_id}})

    # --- operators (the console) ----------------------------------------------------------------------

    async def find_users(self, text: str, limit: int = 50) -> list[User]:
        """Users matching an id, username, device id, custom id or email exactly, then usernames that start
        with ``text``; the newest users when ``text`` is empty."""
        text = text.strip()
        if not 1 <= limit <= 1000:
            raise invalid_argument("limit must be 1-1000")
        ids = await (sql.find_user_ids(self.db, text, limit) if text else sql.recent_user_ids(self.db, limit))
        found = {user.id: user for user in await self.get_users(ids=ids)}
        return [found[user_id] for user_id in ids if user_id in found]

    def after_ban(self, handler: DeletedHandler) -> None:
        """Run ``handler(user_id)`` once a user is banned and their tokens revoked (their sockets closed)."""
        self._banned_handlers.append(handler)

    async def ban(self, user_id: str) -> None:
        """Nakama's ban, one account (the console): it must exist."""
        user_id = _valid_user_id(user_id)
        if user_id == SYSTEM_USER_ID:
            raise invalid_argument("Cannot ban the system user.")
        if not await self._ban([user_id]):
            raise AccountNotFound("Account not found.")

    async def ban_users(self, user_ids: Sequence[str]) -> None:
        """Nakama's ``UsersBanId``: ids of no account are ignored."""
        ids = _valid_ids(user_ids)
        if SYSTEM_USER_ID in ids:
            raise invalid_argument("Cannot ban the system user.")
        if ids:
            await self._ban(ids)

    async def _ban(self, user_ids: list[str]) -> list[str]:
        """The accounts cannot sign in again, every token they hold stops working now and their sockets,
        on any process, are closed."""
        banned = await sql.set_banned(self.db, user_ids, True)
        if banned:
            await self.sessions.revoke_users(banned)
        for user_id in banned:
            for after in self._banned_handlers:
                await after(user_id)
        return banned

    async def operator_session(self, who: str) -> IssuedSession:
        """A session for the user with this id or username, for an operator calling the API as them (the
        console's API explorer). A banned account gets none, as at sign-in."""
        try:
            users = await self.get_users(ids=[str(uuid.UUID(who))])
        except ValueError:  # not an id: a username
            users = await self.get_users(usernames=[who])
        if not users:
            raise AccountNotFound(f"No user with id or username {who!r}.")
        account = await self.get_account(users[0].id)
        if account.disable_time is not None:
            raise AccountBanned()
        return self.sessions.issue(account.user.id, account.user.username)

    async def unban(self, user_id: str) -> None:
        if not await sql.set_banned(self.db, [_valid_user_id(user_id)], False):
            raise AccountNotFound("Account not found.")

    async def unban_users(self, user_ids: Sequence[str]) -> None:
        """Nakama's ``UsersUnbanId``: ids of no account are ignored."""
        ids = _valid_ids(user_ids)
        if ids:
            await sql.set_banned(self.db, ids, False)

    # --- linking ------------------------------------------------------------------------------------

    async def link_custom(self, user_id: str, id: str) -> None:
        await self.links.link_custom(_valid_user_id(user_id), id)

    async def link_device(self, user_id: str, id: str) -> None:
        await self.links.link_device(_valid_user_id(user_id), id)

    async def link_email(self, user_id: str, email: str, password: str) -> None:
        await self.links.link_email(_valid_user_id(user_id), email, password)

    async def unlink_custom(self, user_id: str, id: str = "") -> None:
        await self.links.unlink_custom(_valid_user_id(user_id), id)

    async def unlink_device(self, user_id: str, id: str) -> None:
        await self.links.unlink_device(_valid_user_id(user_id), id)

    async def unlink_email(self, user_id: str, email: str = "") -> None:
        await self.links.unlink_email(_valid_user_id(user_id), email)
