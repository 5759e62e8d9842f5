"""Storage writes, storage deletes and wallet updates applied together in one transaction.

Either every part takes effect or none does: a failed storage version check, a
wallet that would go negative or any other error rolls the whole call back.
Parts run in Nakama's order (writes, deletes, wallets); each sorts its own rows,
so concurrent calls touching the same rows take their locks in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from nakama_py.core.notifications import Notification, NotificationSend, NotificationService
from nakama_py.core.storage import StorageAck, StorageObjectId, StorageService, StorageWrite
from nakama_py.core.wallet import WalletService, WalletUpdate, WalletUpdateResult
from nakama_py.db.pool import Database


@dataclass(frozen=True, slots=True)
class MultiUpdateResult:
    storage_acks: list[StorageAck]
    wallet_results: list[WalletUpdateResult]
    notifications: list[Notification] = field(default_factory=list)


async def multi_update(db: Database, storage: StorageService, wallets: WalletService, *,
                       storage_writes: Sequence[StorageWrite] = (), storage_deletes: Sequence[StorageObjectId] = (),
                       wallet_updates: Sequence[WalletUpdate] = (), update_ledger: bool = True,
                       allow_negative: bool = False, notifications: Sequence[NotificationSend] = (),
                       notifier: NotificationService | None = None) -> MultiUpdateResult:
    """Runtime-authoritative (no permission checks, version checks still apply).

    ``notifications`` (nakama-py's addition) are stored in the same transaction, so a notification
    about a reward exists exactly when the reward does; they reach sockets after the commit."""
    acks: list[StorageAck] = []
    results: list[WalletUpdateResult] = []
    sent: list[Notification] = []
    async with db.transaction() as conn:
        if storage_writes:
            acks = await storage.write(storage_writes, caller=None, conn=conn)
        if storage_deletes:
            await storage.delete(storage_deletes, caller=None, conn=conn)
        if wallet_updates:
            results = await wallets.update(wallet_updates, update_ledger=update_ledger,
                                           allow_negative=allow_negative, conn=conn)
        if notifications and notifier is not None:
            sent = await notifier.store(conn, notifications)
    if sent and notifier is not None:
        await notifier.deliver(sent)
    return MultiUpdateResult(acks, results, sent)


class MultiUpdater:
    """``multi_update`` bound to its services, for callers that hold no database (the runtime)."""

    def __init__(self, db: Database, storage: StorageService, wallets: WalletService,
                 notifier: NotificationService | None = None) -> None:
        self._db = db
        self._storage = storage
        self._wallets = wallets
        self._notifier = notifier

    async def apply(self, *, storage_writes: Sequence[StorageWrite] = (),
                    storage_deletes: Sequence[StorageObjectId] = (), wallet_updates: Sequence[WalletUpdate] = (),
                    update_ledger: bool = True, allow_negative: bool = False,
                    notifications: Sequence[NotificationSend] = ()) -> MultiUpdateResult:
        return await multi_update(self._db, self._storage, self._wallets, storage_writes=storage_writes,
                                  storage_deletes=storage_deletes, wallet_updates=wallet_updates,
                                  update_ledger=update_ledger, allow_negative=allow_negative,
                                  notifications=notifications, notifier=self._notifier)
