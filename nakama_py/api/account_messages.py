"""Nakama's api.User and api.Account in proto-JSON form."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from nakama_py.core.account_types import Account, User
from nakama_py.wire.encoding import compact, timestamp


def jsonb_text(value: Any) -> str:
    """JSON text laid out as PostgreSQL prints a jsonb value, which is what Nakama passes on."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _seconds(moment: datetime | None) -> str | None:
    # Nakama builds these timestamps from whole seconds.
    return timestamp(moment.replace(microsecond=0)) if moment is not None else None


def user_message(user: User) -> dict[str, Any]:
    return compact({
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "avatar_url": user.avatar_url,
        "lang_tag": user.lang_tag,
        "location": user.location,
        "timezone": user.timezone,
        "metadata": jsonb_text(user.metadata),
        "facebook_id": user.facebook_id,
        "google_id": user.google_id,
        "gamecenter_id": user.gamecenter_id,
        "steam_id": user.steam_id,
        "online": user.online,
        "edge_count": user.edge_count,
        "create_time": _seconds(user.create_time),
        "update_time": _seconds(user.update_time),
        "facebook_instant_game_id": user.facebook_instant_game_id,
        "apple_id": user.apple_id,
    })


def account_message(account: Account, *, with_disable_time: bool = False) -> dict[str, Any]:
    """The Account message; the client route leaves out ``disable_time``, as Nakama does."""
    return compact({
        "user": user_message(account.user),
        "wallet": jsonb_text(account.wallet),
        "email": account.email,
        "devices": [{"id": device} for device in account.devices],
        "custom_id": account.custom_id,
        "verify_time": _seconds(account.verify_time),
        "disable_time": _seconds(account.disable_time) if with_disable_time else None,
    })
