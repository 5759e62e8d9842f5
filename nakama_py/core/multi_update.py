"""Storage writes, storage deletes and wallet updates applied together in one transaction.

Either every part takes effect or none does: a failed storage version check, a
wallet that would go negative or any other error rolls the whole call back.
Parts run in Nakama's order (writes, deletes, wallets); each sorts its own rows,
so concurrent calls touching the same rows take their locks in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nakama_py.core.storage import StorageAck, StorageObjectId, StorageService, StorageWrite
from nakama_py.core.wallet import WalletService, WalletUpdate, WalletUpdateResult
from nakama_py.db.pool import Database


@dataclass(frozen=True, slots=True)
class MultiUpdateResult:
    storage_acks: list[StorageAck]
    wallet_results: list[WalletUpdateResult]


async def multi_update(db: Database, storage: StorageService, wallets: WalletService, *,
                       storage_writes: Sequence[StorageWrite] = (), storage_deletes: Sequence[StorageObjectId] = (),
                       wallet_updates: Sequence[WalletUpdate] = (), update_ledger: bool = True,
                       allow_negative: bool = False) -> MultiUpdateResult:
    """Runtime-authoritative (no permission checks, version checks still apply)."""
    acks: list[StorageAck] = []
    results: list[WalletUpdateResult] = []
    async with db.transaction() as conn:
        if storage_writes:
            acks = await storage.write(storage_writes, caller=None, conn=conn)
        if storage_deletes:
            await storage.delete(storage_deletes, caller=None, conn=conn)
        if wallet_updates:
            results = await wallets.update(wallet_updates, update_ledger=update_ledger,
                                           allow_negative=allow_negative, conn=conn)
    return MultiUpdateResult(acks, results)


class MultiUpdater:
    """``multi_update`` bound to its services, for callers that hold no database (the runtime)."""

    def __init__(self, db: Database, storage: StorageService, wallets: WalletService) -> None:
        self._db = db
        self._storage = storage
        self._wallets = wallets

    async def apply(self, *, storage_writes: Sequence[StorageWrite] = (),
                    storage_deletes: Sequence[StorageObjectId] = (), wallet_updates: Sequence[WalletUpdate] = (),
                    update_ledger: bool = True, allow_negative: bool = False) -> MultiUpdateResult:
        return await multi_update(self._db, self._storage, self._wallets, storage_writes=storage_writes,
                                  storage_deletes=storage_deletes, wallet_updates=wallet_updates,
                                  update_ledger=update_ledger, allow_negative=allow_negative)
