"""What the group service hands out (Nakama's api.Group, GroupUser, UserGroup), Nakama's role and
state numbers, and the checks of ids every group call starts with."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nakama_py.core.account_types import User
from nakama_py.errors import invalid_argument

SUPERADMIN, ADMIN, MEMBER, JOIN_REQUEST, BANNED = 0, 1, 2, 3, 4
ROLE_NAMES = {SUPERADMIN: "superadmin", ADMIN: "admin", MEMBER: "member", JOIN_REQUEST: "join request",
              BANNED: "banned"}
OPEN, CLOSED = 0, 1


@dataclass(frozen=True, slots=True)
class Group:
    """Nakama's api.Group."""

    id: str
    creator_id: str
    name: str
    description: str | None
    avatar_url: str | None
    lang_tag: str
    metadata: dict[str, Any]
    open: bool
    edge_count: int
    max_count: int
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class GroupUser:
    user: User
    state: int


@dataclass(frozen=True, slots=True)
class UserGroup:
    group: Group
    state: int


def group_from_row(row: dict[str, Any]) -> Group:
    return Group(row["id"], row["creator_id"], row["name"], row["description"], row["avatar_url"], row["lang_tag"],
                 row["metadata"] if isinstance(row["metadata"], dict) else {}, row["state"] == OPEN,
                 row["edge_count"], row["max_count"], row["create_time"], row["update_time"])


def group_id_of(group_id: str) -> str:
    """A group id from a request: set and a UUID."""
    if not group_id:
        raise invalid_argument("Group ID must be set.")
    try:
        return str(uuid.UUID(group_id))
    except ValueError:
        raise invalid_argument("Group ID must be a valid ID.") from None


def user_ids_of(user_ids: Sequence[str]) -> list[str]:
    out = []
    for user_id in user_ids:
        try:
            parsed = uuid.UUID(str(user_id))
        except ValueError:
            parsed = uuid.UUID(int=0)
        if parsed.int == 0:
            raise invalid_argument("User ID must be a valid ID.")
        out.append(str(parsed))
    return out
