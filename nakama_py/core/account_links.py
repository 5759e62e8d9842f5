"""Linking more ways to sign in to an account, and unlinking them (never the last one)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from nakama_py.core import account_rules as rules
from nakama_py.core.passwords import HASH_COST, can_hash, hash_password
from nakama_py.db import accounts as sql
from nakama_py.db.errors import DatabaseError, UniqueViolation
from nakama_py.db.pool import Database
from nakama_py.errors import IdentifierTaken, internal, invalid_argument, permission_denied

log = logging.getLogger("nakama_py.accounts")

LAST_LINK = "Cannot unlink last account identifier. Check profile exists and is not last link."


class AccountLinks:
    def __init__(self, db: Database, password_cost: int = HASH_COST) -> None:
        self.db = db
        self.password_cost = password_cost

    async def _link(self, linking: Awaitable[bool], what: str, failure: str, taken: str) -> None:
        """Nakama's answers around a custom ID or email link: its failure message for a database
        error, 409 when another account holds the identifier (found, or linked at the same moment)."""
        try:
            linked = await linking
        except UniqueViolation:
            linked = False
        except DatabaseError:
            log.exception("could not link %s", what)
            raise internal(failure) from None
        if not linked:
            raise IdentifierTaken(taken)

    async def link_custom(self, user_id: str, custom_id: str) -> None:
        rules.check_link_custom_id(custom_id)
        await self._link(sql.link_custom(self.db, user_id, custom_id), "custom ID",
                         "Error while trying to link Custom ID.", "Custom ID is already in use.")

    async def link_device(self, user_id: str, device_id: str) -> None:
        rules.check_device_id(device_id)
        try:
            await sql.link_device(self.db, user_id, device_id)
        except UniqueViolation:
            raise IdentifierTaken("Device ID already in use.") from None
        except DatabaseError:
            log.exception("could not link device ID")
            raise internal("Error linking Device ID.") from None

    async def link_email(self, user_id: str, email: str, password: str) -> None:
        rules.check_link_email(email, password)
        # Nakama ignores the hashing error for a password over 72 bytes and stores no password.
        hashed = await hash_password(password, self.password_cost) if can_hash(password) else None
        await self._link(sql.link_email(self.db, user_id, rules.clean_email(email), hashed), "email",
                         "Error while trying to link email.", "Email is already in use.")

    async def _unlink(self, unlinking: Awaitable[bool], what: str, failure: str) -> None:
        """Nakama's answers around an unlink: its failure message for a database error, 403 when
        nothing was unlinked (another identifier, or the last one)."""
        try:
            unlinked = await unlinking
        except DatabaseError:
            log.exception("could not unlink %s", what)
            raise internal(failure) from None
        if not unlinked:
            raise permission_denied(LAST_LINK)

    async def unlink_custom(self, user_id: str, custom_id: str = "") -> None:
        """Remove the custom ID (only if it is ``custom_id``, when given)."""
        await self._unlink(sql.unlink_custom(self.db, user_id, custom_id), "custom ID",
                           "Error while trying to unlink custom ID.")

    async def unlink_device(self, user_id: str, device_id: str) -> None:
        if not device_id:
            raise invalid_argument("A device ID must be supplied.")
        await self._unlink(sql.unlink_device(self.db, user_id, device_id), "device ID", "Could not unlink device ID.")

    async def unlink_email(self, user_id: str, email: str = "") -> None:
        """Remove the email and password (only if the email is ``email``, when given)."""
        await self._unlink(sql.unlink_email(self.db, user_id, rules.clean_email(email)), "email",
                           "Error while trying to unlink email.")
