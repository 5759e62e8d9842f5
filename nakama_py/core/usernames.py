"""Usernames Nakama generates when a client signs up without choosing one."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters
GENERATED_LENGTH = 10


def generate_username() -> str:
    """Ten random ASCII letters, like Nakama's ``generateUsername``."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))
