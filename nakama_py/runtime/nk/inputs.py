"""What ``nk`` functions accept besides the runtime's dataclasses: plain mappings, coerced here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from nakama_py.errors import invalid_argument
from nakama_py.runtime.types import NotificationSend, StorageObjectId, StorageWrite, WalletUpdate

StorageWriteLike = StorageWrite | Mapping[str, Any]
StorageIdLike = StorageObjectId | Mapping[str, Any]
WalletUpdateLike = WalletUpdate | Mapping[str, Any]
NotificationLike = NotificationSend | Mapping[str, Any]


def json_text(value: Any) -> str:
    """Storage values may be given as JSON text or as a mapping to encode."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def storage_write(item: StorageWriteLike) -> StorageWrite:
    if isinstance(item, StorageWrite):
        return item
    fields = dict(item)
    fields["value"] = json_text(fields.get("value", ""))
    return StorageWrite(**fields)


def storage_id(item: StorageIdLike) -> StorageObjectId:
    return item if isinstance(item, StorageObjectId) else StorageObjectId(**item)


def wallet_update(item: WalletUpdateLike) -> WalletUpdate:
    if isinstance(item, WalletUpdate):
        return item
    return WalletUpdate(item["user_id"], item.get("changeset", {}), item.get("metadata") or {})


def notification(item: NotificationLike) -> NotificationSend:
    return item if isinstance(item, NotificationSend) else NotificationSend(**item)


def sql_params(params: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
    if isinstance(params, (str, bytes)):
        raise invalid_argument("sql parameters must be a sequence or a mapping of values, not a string")
    return dict(params) if isinstance(params, Mapping) else params
