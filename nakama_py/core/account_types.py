"""What the account service hands out: Nakama's api.User and api.Account, and sign-in results."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class User:
    """Nakama's api.User."""

    id: str
    username: str
    display_name: str | None
    avatar_url: str | None
    lang_tag: str
    location: str | None
    timezone: str | None
    metadata: dict[str, Any]
    facebook_id: str | None
    google_id: str | None
    gamecenter_id: str | None
    steam_id: str | None
    facebook_instant_game_id: str | None
    apple_id: str | None
    edge_count: int
    create_time: datetime
    update_time: datetime
    online: bool = False


@dataclass(frozen=True, slots=True)
class Account:
    """Nakama's api.Account."""

    user: User
    wallet: dict[str, int]
    email: str | None
    devices: list[str]
    custom_id: str | None
    verify_time: datetime | None
    disable_time: datetime | None


@dataclass(frozen=True, slots=True)
class AuthResult:
    user_id: str
    username: str
    created: bool


def is_set(moment: datetime | None) -> bool:
    """Nakama stores "never" as the Unix epoch, and compares whole seconds."""
    return moment is not None and math.floor(moment.timestamp()) != 0


def user_from_row(row: dict[str, Any]) -> User:
    return User(
        id=row["id"], username=row["username"], display_name=row["display_name"], avatar_url=row["avatar_url"],
        lang_tag=row["lang_tag"], location=row["location"], timezone=row["timezone"],
        metadata=row["metadata"] if isinstance(row["metadata"], dict) else {},
        facebook_id=row["facebook_id"], google_id=row["google_id"], gamecenter_id=row["gamecenter_id"],
        steam_id=row["steam_id"], facebook_instant_game_id=row["facebook_instant_game_id"],
        apple_id=row["apple_id"], edge_count=row["edge_count"], create_time=row["create_time"],
        update_time=row["update_time"])


def account_from_row(row: dict[str, Any]) -> Account:
    wallet = row["wallet"] if isinstance(row["wallet"], dict) else {}
    return Account(
        user=user_from_row(row), wallet=wallet, email=row["email"], devices=list(row["devices"] or []),
        custom_id=row["custom_id"],
        verify_time=row["verify_time"] if is_set(row["verify_time"]) else None,
        disable_time=row["disable_time"] if is_set(row["disable_time"]) else None)
