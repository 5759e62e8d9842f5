"""``nk.storage_*`` and ``nk.multi_update``: storage objects, and storage with wallets in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from nakama_py.core.multi_update import MultiUpdater
from nakama_py.core.storage import StorageService
from nakama_py.runtime.call_scope import tracked
from nakama_py.runtime.nk import inputs
from nakama_py.runtime.nk.inputs import StorageIdLike, StorageWriteLike, WalletUpdateLike
from nakama_py.runtime.types import MultiUpdateResult, StorageAck, StorageObject


class StorageCalls:
    _storage: StorageService
    _multi_updater: MultiUpdater

    @tracked
    async def storage_read(self, object_ids: Sequence[StorageIdLike]) -> list[StorageObject]:
        """Objects that exist, in request order. ``user_id`` None means the system user."""
        return await self._storage.read([inputs.storage_id(item) for item in object_ids], caller=None)

    @tracked
    async def storage_write(self, writes: Sequence[StorageWriteLike]) -> list[StorageAck]:
        """Write atomically; ``value`` may be JSON text or a mapping. Version checks apply."""
        return await self._storage.write([inputs.storage_write(item) for item in writes], caller=None)

    @tracked
    async def storage_delete(self, object_ids: Sequence[StorageIdLike]) -> None:
        await self._storage.delete([inputs.storage_id(item) for item in object_ids], caller=None)

    @tracked
    async def storage_count(self, collection: str, user_id: str | None = None) -> int:
        """How many objects ``collection`` holds, of every owner or of ``user_id``."""
        return await self._storage.count(collection, user_id=user_id)

    @tracked
    async def storage_list(self, user_id: str | None, collection: str, limit: int = 100, cursor: str | None = None,
                           caller_id: str | None = None) -> tuple[list[StorageObject], str | None]:
        """A page of a collection: one user's objects, or every user's when ``user_id`` is None.
        With ``caller_id`` the client visibility rules of that user apply."""
        return await self._storage.list_objects(collection, user_id=user_id or None, limit=limit,
                                              cursor=cursor or None, caller=caller_id or None)

    # --- several writes at once -------------------------------------------------

    @tracked
    async def multi_update(self, storage_writes: Sequence[StorageWriteLike] = (),
                           wallet_updates: Sequence[WalletUpdateLike] = (),
                           storage_deletes: Sequence[StorageIdLike] = (), update_ledger: bool = True, *,
                           allow_negative: bool = False) -> MultiUpdateResult:
        """Storage writes and deletes and wallet updates in ONE transaction: all or nothing."""
        return await self._multi_updater.apply(
            storage_writes=[inputs.storage_write(item) for item in storage_writes],
            storage_deletes=[inputs.storage_id(item) for item in storage_deletes],
            wallet_updates=[inputs.wallet_update(item) for item in wallet_updates],
            update_ledger=update_ledger, allow_negative=allow_negative)
