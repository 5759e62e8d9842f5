"""``nk.wallet_*``: wallet balances and their ledger."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nakama_py.core.wallet import WalletService
from nakama_py.runtime.call_scope import tracked
from nakama_py.runtime.nk import inputs
from nakama_py.runtime.nk.inputs import WalletUpdateLike
from nakama_py.runtime.types import WalletLedgerItem, WalletUpdateResult


class WalletCalls:
    _wallets: WalletService

    @tracked
    async def wallet_update(self, user_id: str, changeset: Mapping[str, int],
                            metadata: Mapping[str, Any] | None = None, update_ledger: bool = True, *,
                            allow_negative: bool = False) -> WalletUpdateResult:
        """Add each amount to the user's balance, atomically. A balance that would go below zero
        raises ``WalletNegativeError`` (code 9) and changes nothing, unless ``allow_negative``."""
        return await self._wallets.update_one(user_id, changeset, metadata, update_ledger=update_ledger,
                                                    allow_negative=allow_negative)

    @tracked
    async def wallets_update(self, updates: Sequence[WalletUpdateLike], update_ledger: bool = True, *,
                             allow_negative: bool = False) -> list[WalletUpdateResult]:
        """Several users' wallets in one transaction: all change or none do."""
        return await self._wallets.update([inputs.wallet_update(item) for item in updates],
                                                update_ledger=update_ledger, allow_negative=allow_negative)

    @tracked
    async def wallet_ledger_list(self, user_id: str, limit: int = 100, cursor: str | None = None,
                                 ) -> tuple[list[WalletLedgerItem], str | None]:
        """A user's wallet ledger, newest first, and the cursor of the next page (None at the end)."""
        return await self._wallets.ledger_list(user_id, limit, cursor or None)
