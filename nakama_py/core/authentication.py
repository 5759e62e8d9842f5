"""Signing in: Nakama's authenticate rules for every identity kind, with its create/lookup semantics.

A lookup finds the account holding the identifier; without one, ``create`` makes a
new account (in one statement, so a user never exists without its identifier). When
two first sign-ins with one identifier race, the loser's insert hits the unique key
and it looks again: both end signed in to the one account that was created.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import NoReturn

from nakama_py.config import SocialConfig
from nakama_py.core import account_rules as rules
from nakama_py.core.account_types import AuthResult, is_set
from nakama_py.core.login_attempts import Attempt
from nakama_py.core.passwords import HASH_COST, can_hash, check_password, hash_password
from nakama_py.core.social import ProviderError, SocialProfile, SocialVerifier
from nakama_py.core.usernames import generate_username
from nakama_py.db import accounts as sql
from nakama_py.db.accounts import Identity, IdentityColumn
from nakama_py.db.errors import DatabaseError, UniqueViolation
from nakama_py.db.pool import Database
from nakama_py.errors import (
    AccountBanned,
    AccountNotFound,
    Code,
    NakamaError,
    UsernameTaken,
    internal,
    invalid_argument,
    unauthenticated,
)

log = logging.getLogger("nakama_py.accounts")

# A lost race is retried: the next lookup finds the winner's account.
MAX_ATTEMPTS = 3

Lookup = Callable[[], Awaitable[Identity | None]]
FindOrCreate = Callable[[str], Awaitable[Identity]]


def _choose_username(username: str) -> tuple[str, bool]:
    """The username to create an account with, and whether it was generated."""
    if not username:
        return generate_username(), True
    rules.check_username(username)
    return username, False


def new_user_id() -> str:
    """A new user ID (UUIDv4, as Nakama makes them)."""
    return str(uuid.uuid4())


def _admit(identity: Identity) -> None:
    if is_set(identity.disable_time):
        raise AccountBanned()


async def _unknown_account(attempt: Attempt | None, *, checked: bool = False) -> NoReturn:
    """No account holds the identifier: a locked address hears so (not whether the account exists),
    otherwise the failure counts against the address."""
    if attempt is not None:
        if not checked:
            attempt.check()
        await attempt.failed()
    raise AccountNotFound()


class Authenticator:
    """Sign-ins. ``attempt`` is given for a client's sign-in (the API), which Nakama's login attempt
    limits apply to; server code (the runtime's ``nk``) signs in without one."""

    def __init__(self, db: Database, social_config: SocialConfig, verifier: SocialVerifier,
                 password_cost: int = HASH_COST) -> None:
        self.db = db
        self.social_config = social_config
        self.verifier = verifier
        self.password_cost = password_cost

    # --- the shared lookup-or-create -------------------------------------------------------------

    async def _lookup(self, lookup: Lookup) -> Identity | None:
        try:
            return await lookup()
        except DatabaseError:
            log.exception("error finding user account")
            raise internal("Error finding user account.") from None

    async def _sign_in(self, lookup: Lookup, find_or_create: FindOrCreate, username: str, generated: bool,
                       create: bool, attempt: Attempt | None = None) -> Identity:
        if attempt is not None:
            attempt.check()  # before any lookup: a locked address learns nothing
        if not create:
            identity = await self._lookup(lookup)
            if identity is None:
                await _unknown_account(attempt, checked=True)
            _admit(identity)
            return identity
        for _ in range(MAX_ATTEMPTS):
            try:
                identity = await find_or_create(username)
            except UniqueViolation as exc:
                if exc.constraint == sql.USERNAME_KEY and await self._lookup(lookup) is None:
                    if not generated:
                        raise UsernameTaken() from None
                    username = generate_username()
                continue
            except DatabaseError:
                log.exception("error finding or creating user account")
                raise internal("Error finding or creating user account.") from None
            _admit(identity)
            return identity
        raise internal("Error finding or creating user account.")

    async def _by_identity(self, column: IdentityColumn, value: str, username: tuple[str, bool], create: bool,
                           profile: SocialProfile | None = None, attempt: Attempt | None = None) -> AuthResult:
        chosen, generated = username
        display_name = profile.display_name if profile else ""
        avatar_url = profile.avatar_url if profile else ""

        async def lookup() -> Identity | None:
            return await sql.find_by_identity(self.db, column, value)

        async def find_or_create(name: str) -> Identity:
            return await sql.find_or_create_by_identity(
                self.db, column, value, user_id=new_user_id(), username=name,
                display_name=display_name, avatar_url=avatar_url)

        identity = await self._sign_in(lookup, find_or_create, chosen, generated, create, attempt)
        return AuthResult(identity.user_id, identity.username, identity.created)

    # --- identities the client holds ------------------------------------------------------------

    async def custom(self, custom_id: str, username: str = "", create: bool = True,
                     attempt: Attempt | None = None) -> AuthResult:
        """A custom ID is the secret: an unknown one with ``create=false`` counts as a failed sign-in
        of the address (there is no account to count it against)."""
        rules.check_custom_id(custom_id)
        return await self._by_identity("custom_id", custom_id, _choose_username(username), create,
                                       attempt=attempt)

    async def device(self, device_id: str, username: str = "", create: bool = True) -> AuthResult:
        rules.check_device_id(device_id)
        chosen, generated = _choose_username(username)

        async def lookup() -> Identity | None:
            return await sql.find_by_device(self.db, device_id)

        async def find_or_create(name: str) -> Identity:
            return await sql.find_or_create_by_device(self.db, device_id, user_id=new_user_id(), username=name)

        identity = await self._sign_in(lookup, find_or_create, chosen, generated, create)
        return AuthResult(identity.user_id, identity.username, identity.created)

    async def email(self, email: str, password: str, username: str = "", create: bool = True,
                    attempt: Attempt | None = None) -> AuthResult:
        """Email and password; with an empty email, a sign-in by username and password (never creates)."""
        by_username = email == ""
        if not by_username:
            rules.check_email_address(email)
        rules.check_password(password)
        if not username:
            if by_username:
                raise invalid_argument("Username is required when email address is not supplied.")
            username, generated = generate_username(), True
        else:
            rules.check_username(username)
            generated = False
        if by_username:
            return await self._username_password(username, password, attempt)
        return await self._email_password(rules.clean_email(email), password, username, generated, create, attempt)

    async def _password_matches(self, identity: Identity, password: str, attempt: Attempt | None) -> None:
        """The password check of an existing account, inside the account's login attempt limits."""
        if attempt is not None:
            attempt.check(identity.user_id)
        _admit(identity)
        # No password and a wrong one answer alike, so a client cannot tell them apart.
        if not await check_password(password, identity.password):
            if attempt is not None:
                await attempt.failed()
            raise unauthenticated("Invalid credentials.")
        if attempt is not None:
            await attempt.succeeded()

    async def _username_password(self, username: str, password: str, attempt: Attempt | None) -> AuthResult:
        identity = await self._lookup(lambda: sql.find_by_username(self.db, username))
        if identity is None:
            await _unknown_account(attempt)
        await self._password_matches(identity, password, attempt)
        return AuthResult(identity.user_id, identity.username, False)

    async def _email_password(self, email: str, password: str, username: str, generated: bool,
                              create: bool, attempt: Attempt | None) -> AuthResult:
        def lookup() -> Awaitable[Identity | None]:
            return sql.find_by_email(self.db, email)

        for _ in range(MAX_ATTEMPTS):
            identity = await self._lookup(lookup)
            if identity is not None:
                await self._password_matches(identity, password, attempt)
                return AuthResult(identity.user_id, identity.username, False)
            if not create:
                await _unknown_account(attempt)
            if not can_hash(password):  # Go's bcrypt refuses it, and Nakama answers this
                raise internal("Error finding or creating user account.")
            hashed = await hash_password(password, self.password_cost)
            try:
                created = await sql.create_email_user(self.db, user_id=new_user_id(), username=username,
                                                      email=email, password=hashed)
            except UniqueViolation as exc:
                if exc.constraint == sql.USERNAME_KEY and await self._lookup(lookup) is None:
                    if not generated:
                        raise UsernameTaken() from None
                    username = generate_username()
                continue  # the email was taken meanwhile: the next lookup checks the password against it
            except DatabaseError:
                log.exception("error creating user account with email")
                raise internal("Error finding or creating user account.") from None
            return AuthResult(created.user_id, created.username, True)
        raise internal("Error finding or creating user account.")

    # --- identities a provider vouches for ----------------------------------------------------------

    async def _social(self, provider: str, column: IdentityColumn, profile: SocialProfile,
                      username: tuple[str, bool], create: bool) -> AuthResult:
        result = await self._by_identity(column, profile.id, username, create, profile)
        if result.created and profile.email:
            try:
                await sql.import_email(self.db, result.user_id, profile.email)
            except DatabaseError:
                log.exception("error importing account email", extra={"fields": {"provider": provider}})
                raise internal(f"Error importing {provider} account email.") from None
        return result

    async def apple(self, token: str, username: str = "", create: bool = True) -> AuthResult:
        bundle_id = self.social_config.apple.bundle_id
        if not bundle_id:
            raise NakamaError("Apple authentication is not configured.", Code.FAILED_PRECONDITION)
        if not token:
            raise invalid_argument("Apple ID token is required.")
        chosen = _choose_username(username)
        try:
            profile = await self.verifier.apple(bundle_id, token)
        except ProviderError as exc:
            log.info("could not authenticate Apple profile", extra={"fields": {"reason": str(exc)}})
            raise unauthenticated("Could not authenticate Apple profile.") from None
        return await self._social("apple", "apple_id", profile, chosen, create)

    async def facebook(self, token: str, username: str = "", create: bool = True) -> AuthResult:
        if not token:
            raise invalid_argument("Facebook access token is required.")
        chosen = _choose_username(username)
        try:
            profile = await self.verifier.facebook(self.social_config.facebook_limited_login.app_id, token)
        except ProviderError as exc:
            log.info("could not authenticate Facebook profile", extra={"fields": {"reason": str(exc)}})
            raise unauthenticated("Could not authenticate Facebook profile.") from None
        return await self._social("facebook", "facebook_id", profile, chosen, create)

    async def facebook_instant_game(self, signed_player_info: str, username: str = "",
                                    create: bool = True) -> AuthResult:
        if not signed_player_info:
            raise invalid_argument("Signed Player Info for a Facebook Instant Game is required.")
        chosen = _choose_username(username)
        try:
            profile = await self.verifier.facebook_instant_game(
                self.social_config.facebook_instant_game.app_secret, signed_player_info)
        except ProviderError as exc:
            log.info("could not verify Facebook Instant Game player", extra={"fields": {"reason": str(exc)}})
            raise NakamaError("Error extracting the Facebook Instant Game player ID or validating the signature",
                              Code.DATA_LOSS) from None
        return await self._social("facebook instant game", "facebook_instant_game_id", profile, chosen, create)

    async def gamecenter(self, player_id: str, bundle_id: str, timestamp_seconds: int, salt: str, signature: str,
                         public_key_url: str, username: str = "", create: bool = True) -> AuthResult:
        if not bundle_id:
            raise invalid_argument("GameCenter bundle ID is required.")
        if not player_id:
            raise invalid_argument("GameCenter player ID is required.")
        if not public_key_url:
            raise invalid_argument("GameCenter public key URL is required.")
        if not salt:
            raise invalid_argument("GameCenter salt is required.")
        if not signature:
            raise invalid_argument("GameCenter signature is required.")
        if timestamp_seconds == 0:
            raise invalid_argument("GameCenter timestamp is required.")
        chosen = _choose_username(username)
        try:
            profile = await self.verifier.gamecenter(player_id, bundle_id, timestamp_seconds, salt, signature,
                                                     public_key_url)
        except ProviderError as exc:
            log.info("could not authenticate GameCenter profile", extra={"fields": {"reason": str(exc)}})
            raise unauthenticated("Could not authenticate GameCenter profile.") from None
        return await self._social("gamecenter", "gamecenter_id", profile, chosen, create)

    async def google(self, token: str, username: str = "", create: bool = True) -> AuthResult:
        if not token:
            raise invalid_argument("Google access token is required.")
        chosen = _choose_username(username)
        try:
            profile = await self.verifier.google(token)
        except ProviderError as exc:
            log.info("could not authenticate Google profile", extra={"fields": {"reason": str(exc)}})
            raise unauthenticated("Could not authenticate Google profile.") from None
        # Values too long for their columns are skipped, as Nakama does.
        profile = SocialProfile(
            profile.id, profile.email,
            profile.display_name if rules.byte_len(profile.display_name) <= 255 else "",
            profile.avatar_url if rules.byte_len(profile.avatar_url) <= 512 else "")
        return await self._social("google", "google_id", profile, chosen, create)

    async def steam(self, token: str, username: str = "", create: bool = True) -> AuthResult:
        steam = self.social_config.steam
        if not steam.publisher_key or steam.app_id == 0:
            raise NakamaError("Steam authentication is not configured.", Code.FAILED_PRECONDITION)
        if not token:
            raise invalid_argument("Steam access token is required.")
        chosen = _choose_username(username)
        try:
            profile = await self.verifier.steam(steam.publisher_key, steam.app_id, token)
        except ProviderError as exc:
            log.info("could not authenticate Steam profile", extra={"fields": {"reason": str(exc)}})
            raise unauthenticated("Could not authenticate Steam profile.") from None
        return await self._social("steam", "steam_id", profile, chosen, create)

